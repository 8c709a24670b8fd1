/* What the benchmarks of `sprec bench` share (bench_util.h): the machine is shared and
 * noisy, so the figures that count are ratios of quantities measured side by side in
 * one run; these are the pieces every side uses alike. */
#include "bench_util.h"

#include <unistd.h>

double bench_read_kernel(const double *a, int64_t len)
{
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int l = 0; l < 8; l++) s[l] += a[i + l];
  for (; i < len; i++) s[0] += a[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* The ranks of one node share its memory: the limit is per rank, the same on every
 * rank (the smallest), so that all skip or run a size together. */
double bench_memory_limit(MPI_Comm comm)
{
  MPI_Comm node;
  int on_node = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
  }
  double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  double limit = phys > 0 ? 0.5 * phys / on_node : 1e300;
  MPI_Allreduce(MPI_IN_PLACE, &limit, 1, MPI_DOUBLE, MPI_MIN, comm);
  return limit;
}

int bench_variant_count(MPI_Comm comm)
{
  int nv = 0;
  for (const char *const *v = sprec_kernel_variants(); *v; v++) nv++;
  MPI_Allreduce(MPI_IN_PLACE, &nv, 1, MPI_INT, MPI_MIN, comm);
  return nv < 8 ? nv : 8;
}

void bench_put(bench_sink *o, const char *metric, double v, const char *unit)
{
  if (o->rank) return;
  if (!o->quiet) printf("  %-44s %14.6g %s\n", metric, v, unit);
  if (o->csv) fprintf(o->csv, "%s,%.9g,%s\n", metric, v, unit);
  if (o->json) fprintf(o->json, "%s\n  \"%s\": %.9g", o->first ? "" : ",", metric, v);
  o->first = 0;
}

sprec_err bench_open_sinks(MPI_Comm comm, const char *out, bench_sink *o, cli_outset *outs,
                           char path[2][4096])
{
  char *path_csv = path[0], *path_json = path[1];
  SPREC_CALL(cli_make_dir(comm, "--out", out));
  snprintf(path_csv, 4096, "%s/bench.csv", out);
  snprintf(path_json, 4096, "%s/bench.json", out);
  cli_path files[] = {{"--out", path_csv, 1, 0, NULL, NULL}, {"--out", path_json, 1, 0, NULL, NULL}};
  SPREC_CALL(cli_check_paths(comm, files, 2));
  if (o->rank == 0) {
    o->csv = fopen(cli_out_add(outs, path_csv), "w");
    o->json = fopen(cli_out_add(outs, path_json), "w");
  }
  SPREC_CALL(sprec_agree(comm, o->rank == 0 && !(o->csv && o->json)
                                   ? SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out)
                                   : SPREC_OK));
  if (o->rank == 0) {
    fprintf(o->csv, "metric,value,unit\n");
    fputc('{', o->json);
  }
  return SPREC_OK;
}

sprec_err bench_close_sinks(MPI_Comm comm, const char *out, bench_sink *o, cli_outset *outs,
                            sprec_err err)
{
  if (o->json) {
    fputs("\n}\n", o->json);
    if ((ferror(o->json) | fclose(o->json)) && !err)
      err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out);
  }
  if (o->csv && (ferror(o->csv) | fclose(o->csv)) && !err)
    err = SPREC_ERROR(SPREC_ERR_IO, "--out %s: cannot write", out);
  return cli_out_commit(comm, outs, sprec_agree(comm, err));
}
