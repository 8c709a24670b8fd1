# sprec — make, make check, make demo, make bench, make install PREFIX=...
# Site settings (compiler, flags, library names) may go in an optional config.mk.
-include config.mk

CC        ?= mpicc
ifeq ($(origin CC),default)
CC        := mpicc
endif
# Portable by default: no -march=native (a binary built on a login node must run on
# every compute node); the hot kernels pick their instruction set at run time.
CFLAGS    ?= -O3 -g
# -ffp-contract=off: identical expressions round identically in every code path, one
# of the things that keep answers the same for any number of ranks.
SPREC_CFLAGS = -std=c11 -Wall -Wextra -D_GNU_SOURCE -ffp-contract=off -fPIC -Iinclude -Isrc -MMD -MP
VERSION   := $(shell sed -n 's/^\#define SPREC_VERSION "\(.*\)"/\1/p' include/sprec.h)
SOMAJOR   := $(firstword $(subst ., ,$(VERSION)))
# Parallel HDF5 is Open MPI's build (Debian: libhdf5-openmpi-dev), found through pkg-config.
HDF5_CFLAGS ?= $(shell pkg-config --cflags-only-I hdf5-openmpi 2>/dev/null || echo -I/usr/include/hdf5/openmpi)
HDF5_LIBS   ?= $(shell pkg-config --libs-only-L hdf5-openmpi 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi) -lhdf5
LIBS      ?= -lscalapack-openmpi -llapacke -lopenblas -lcjson -lfftw3 $(HDF5_LIBS) -lz -lm
# The front ends' own: the service (HTTP server, SQLite, SHA-256 of OpenSSL's libcrypto) and its
# client (libcurl).
FRONT_LIBS ?= -lmicrohttpd -lsqlite3 -lcurl -lcrypto -lpthread
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
PREFIX    ?= /usr/local
NP        ?= 2

ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    ?= build-san
else
BUILD    ?= build
endif
BIN       = $(BUILD)/bin
# Only the library's HDF5 reader and writer include hdf5.h.
$(BUILD)/src/fmt/h5.o: SPREC_CFLAGS += $(HDF5_CFLAGS)

# The kernel variants for x86-64 (src/core/kernels_*.c), each compiled for its
# instruction set; kernels.c calls one only where the CPU runs it.
ifneq ($(findstring x86_64,$(shell $(CC) -dumpmachine 2>/dev/null)),)
SPREC_CFLAGS += -DSPREC_HAVE_X86_VARIANTS
$(BUILD)/src/core/kernels_avx2.o: ISA_FLAGS = -mavx2
$(BUILD)/src/core/kernels_avx512.o: ISA_FLAGS = -mavx512f -mavx512vl
endif

LIB_SRC  := $(wildcard src/core/*.c src/par/*.c src/fmt/*.c src/op/*.c src/lsq/*.c src/algo/*.c src/io/*.c)
CLI_SRC  := $(wildcard src/cli/*.c src/serve/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BIN)/%)

.PHONY: all deps check test demo bench model cluster install clean fuzz fuzz-build fuzz-deps
# Keep the test objects (they are intermediate files of a chain of pattern rules).
.SECONDARY:
all: bin/sprec

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SPREC_CFLAGS) $(CFLAGS) $(ISA_FLAGS) -c $< -o $@

# The front ends (the command line, the service) are clients of the library: they see
# include/sprec.h alone.
CLI_CFLAGS = $(filter-out -Isrc,$(SPREC_CFLAGS))
$(BUILD)/src/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CLI_CFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/src/serve/%.o: src/serve/%.c
	@mkdir -p $(@D)
	$(CC) $(CLI_CFLAGS) $(CFLAGS) -c $< -o $@

# Made afresh: ar would keep the member of a source file that has since been removed.
$(BUILD)/libsprec.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libsprec.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsprec.so.$(SOMAJOR) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/sprec: $(CLI_OBJ) $(BUILD)/libsprec.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsprec.a $(LIBS) $(FRONT_LIBS)

# bin/sprec is the program users run: always the build of the current variant
# (plain or SANITIZE=...), so it is refreshed whenever it differs.
.PHONY: bin/sprec
bin/sprec: $(BIN)/sprec
	@mkdir -p bin
	@cmp -s $< $@ || { cp $< $@.tmp && mv -f $@.tmp $@; }

$(BIN)/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testutil.o $(BUILD)/libsprec.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(SPREC_CFLAGS) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) -c $< -o $@

deps:
	@scripts/install-deps.sh

# The README's test command: installs what is missing, builds, runs every suite (the
# fuzzing harnesses too, briefly: tests/cli/test_fuzz.sh).
check: deps fuzz-deps
	$(MAKE) --no-print-directory bin/sprec $(TESTS) $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)
	BUILD=$(BUILD) tests/run-tests.sh

demo: deps
	$(MAKE) --no-print-directory bin/sprec
	scripts/demo.sh

# The benchmarks, then the huge-n targets of the operators past memory (about 6 GiB
# for the 2^28 fast transform; scripts/target-cs.sh refuses to start without enough).
# The longer cases of the local 4-host cluster (scripts/cluster-local.sh; root): the
# scaling study across hosts, a host's rank killed, the service's node loss and its
# continuation. (The short ones are tests/cli/test_cluster.sh, in make check.)
cluster: deps
	$(MAKE) --no-print-directory bin/sprec
	bash tests/cli/cluster-long.sh bin/sprec

bench: deps
	$(MAKE) --no-print-directory bin/sprec
	scripts/bench.sh
	/usr/bin/python3 scripts/bench-serve.py
	scripts/bench-operators.sh
	scripts/target-deconv.sh
	scripts/target-cs.sh

# The scaling model (README, "The model"): this machine's constants at NP ranks, then the
# predictions to 4096 ranks in build/model (model.csv, the plots, counts.json).
model: bin/sprec
	scripts/mpirun.sh -np $(NP) bin/sprec bench --comm --out build/bench/comm
	/usr/bin/python3 scripts/scaling-model.py build/bench/comm/bench.json --out build/model \
	  --counts build/model/counts.json $(if $(wildcard build/scaling-strong/scaling.csv),--measured build/scaling-strong/scaling.csv) \
	  $(if $(wildcard build/scaling-weak/scaling.csv),--measured build/scaling-weak/scaling.csv)

# bin/sprec, the header, the static and the shared library (soname libsprec.so.MAJOR)
# and sprec.pc, so that `pkg-config --cflags --libs sprec` builds a program against it.
install: $(BIN)/sprec $(BUILD)/libsprec.so.$(VERSION)
	install -d $(PREFIX)/bin $(PREFIX)/include $(PREFIX)/lib/pkgconfig
	install -m 755 $(BIN)/sprec $(PREFIX)/bin/sprec
	install -m 644 include/sprec.h $(PREFIX)/include/sprec.h
	install -m 644 $(BUILD)/libsprec.a $(PREFIX)/lib/libsprec.a
	install -m 755 $(BUILD)/libsprec.so.$(VERSION) $(PREFIX)/lib/libsprec.so.$(VERSION)
	ln -sf libsprec.so.$(VERSION) $(PREFIX)/lib/libsprec.so.$(SOMAJOR)
	ln -sf libsprec.so.$(SOMAJOR) $(PREFIX)/lib/libsprec.so
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@VERSION@|$(VERSION)|' sprec.pc.in \
	  > $(PREFIX)/lib/pkgconfig/sprec.pc

# ----------------------------------------------------------------- fuzzing --
# clang's libFuzzer harnesses of tests/fuzz/ (see README, "Fuzzing"), with
# AddressSanitizer and UndefinedBehaviorSanitizer (every UB report is fatal). The library
# files each harness needs are compiled into $(FUZZ_BUILD) with the same sanitizers and
# coverage instrumentation; the .npy reader's harness uses a copy of npy.c with small
# chunks, so that small inputs go through the chunked read and transposition loops.
FUZZ_CC    ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_DEPS   = clang libclang-rt-14-dev llvm-14
FUZZ_FLAGS  = -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SAN    = address,undefined
MPI_CFLAGS  = $(shell mpicc -showme:compile 2>/dev/null)
MPI_LIBS    = $(shell mpicc -showme:link 2>/dev/null)
FUZZERS     = npy_header npy_read cli_args ckpt npz mtx

$(FUZZ_BUILD)/obj/src/fmt/h5.o: SPREC_CFLAGS += $(HDF5_CFLAGS)
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(SPREC_CFLAGS) $(MPI_CFLAGS) $(FUZZ_FLAGS) $(ISA_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@

$(FUZZ_BUILD)/small/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(SPREC_CFLAGS) $(MPI_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
	  -DSPREC_NPY_CHUNK=7 -DSPREC_NPY_TILE=5 -c $< -o $@

# The .npy harnesses: the reader (npy.c), its header parser and MPI-IO helpers, and the
# core files they call.
NPY_FUZZ_OBJ = $(FUZZ_BUILD)/obj/src/fmt/npy_header.o $(FUZZ_BUILD)/obj/src/fmt/npy_mpiio.o \
               $(FUZZ_BUILD)/obj/src/core/error.o $(FUZZ_BUILD)/obj/src/core/util.o \
               $(FUZZ_BUILD)/obj/src/core/fileio.o $(FUZZ_BUILD)/obj/src/core/comm.o
$(FUZZ_BUILD)/fuzz_npy_header: $(FUZZ_BUILD)/obj/src/fmt/npy.o $(NPY_FUZZ_OBJ)
$(FUZZ_BUILD)/fuzz_npy_read: $(FUZZ_BUILD)/small/src/fmt/npy.o $(NPY_FUZZ_OBJ)
$(FUZZ_BUILD)/fuzz_cli_args: $(FUZZ_BUILD)/obj/src/cli/args.o $(FUZZ_BUILD)/obj/src/core/error.o \
                             $(FUZZ_BUILD)/obj/src/core/comm.o
# The checkpoint reader's harness resumes through the public API: the whole library,
# the kernel variants with their instruction sets, linked with the library's LIBS.
ifneq ($(findstring -DSPREC_HAVE_X86_VARIANTS,$(SPREC_CFLAGS)),)
$(FUZZ_BUILD)/obj/src/core/kernels_avx2.o: ISA_FLAGS = -mavx2
$(FUZZ_BUILD)/obj/src/core/kernels_avx512.o: ISA_FLAGS = -mavx512f -mavx512vl
endif
$(FUZZ_BUILD)/fuzz_ckpt: $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
$(FUZZ_BUILD)/fuzz_ckpt: FUZZ_LIBS = $(LIBS)
# The sparse readers' harnesses (npz.c, mtx.c) read through sprec_csc_inspect: the
# whole library, as for the checkpoint reader's.
$(FUZZ_BUILD)/fuzz_npz $(FUZZ_BUILD)/fuzz_mtx: $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
$(FUZZ_BUILD)/fuzz_npz $(FUZZ_BUILD)/fuzz_mtx: FUZZ_LIBS = $(LIBS)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(SPREC_CFLAGS) $(MPI_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) \
	  -o $@ $< $(filter %.o,$^) $(FUZZ_LIBS) $(MPI_LIBS)

fuzz-deps:
	@scripts/install-deps.sh $(FUZZ_DEPS)

fuzz-build: fuzz-deps
	$(MAKE) --no-print-directory $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)

# Each harness for FUZZ_RUNS executions (default 10^7; or FUZZ_TIME seconds each);
# fails on any crash, hang, leak or sanitizer report. The corpus grows in
# $(FUZZ_BUILD)/corpus/, findings go to $(FUZZ_BUILD)/artifacts/.
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh --keep $(if $(FUZZ_TIME),--time $(FUZZ_TIME),--runs $(or $(FUZZ_RUNS),10000000)) $(FUZZ_ARGS)

clean:
	rm -rf build build-san build-fuzz bin

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
