#!/usr/bin/python3
"""Writes the seed corpora of the fuzzing harnesses into tests/fuzz/corpus/ (run from the
repository root; the output is committed, this script documents how it was made).

npy_header and npy_read: the same small .npy files, valid ones written by numpy itself
(versions 1, 2, 3; C and Fortran order; float32 and float64; 1-D and 2-D) and handmade
ones: other spellings of the dict, and broken files (truncated, trailing bytes, bad
magic or version, huge or negative shapes, other dtypes, malformed dicts).
cli_args: argument vectors, NUL-separated, the first naming the subcommand.
ckpt: real checkpoints, written by the library itself (the harness build-fuzz/fuzz_ckpt,
which 'make fuzz-build' makes, run with SPREC_FUZZ_WRITE_SEEDS: every configuration of
its table stopped at one or two iterations; the same bytes on every run), each as it is
(ok_*) and behind the harness's marker byte (fix_*: the harness recomputes the file
length and the checksum, so that mutations reach the field checks), and a few damaged
ones (bad_*), with the inputs the fuzzer found (kept as they are: CKPT_FOUND).

    /usr/bin/python3 tests/fuzz/mkcorpus.py [CORPUS...]   (default: all of them)"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def npy_bytes(a, version):
    import io
    import numpy as np
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def raw(dict_text, data=b'', major=1, pad=True, hlen=None):
    """A .npy file by hand: the dict padded like numpy does (unless pad is False)."""
    d = dict_text.encode('latin-1') if isinstance(dict_text, str) else dict_text
    pre = 10 if major == 1 else 12
    if pad:
        total = (pre + len(d) + 1 + 63) // 64 * 64
        d = d + b' ' * (total - pre - len(d) - 1) + b'\n'
    n = len(d) if hlen is None else hlen
    h = b'\x93NUMPY' + bytes([major, 0]) + (struct.pack('<H', n) if major == 1 else struct.pack('<I', n))
    return h + d + data


def hdr(shape, descr="'<f8'", order='False'):
    """The text of a .npy header's dict, the values as given (any text)."""
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s}" % (descr, order, shape)


def npy_files():
    import numpy as np
    f = {}
    a = np.arange(12, dtype='<f8').reshape(3, 4) * 1.5 - 4
    for v in (1, 2, 3):
        f['c8_3x4_v%d' % v] = npy_bytes(np.ascontiguousarray(a), (v, 0))
        f['f8_3x4_v%d' % v] = npy_bytes(np.asfortranarray(a), (v, 0))
    f['c4_2x5'] = npy_bytes(np.arange(10, dtype='<f4').reshape(2, 5) + 0.25, (1, 0))
    f['f4_4x3'] = npy_bytes(np.asfortranarray(np.arange(12, dtype='<f4').reshape(4, 3) - 0.5), (1, 0))
    f['f4_4x3_v3'] = npy_bytes(np.asfortranarray(np.arange(12, dtype='<f4').reshape(4, 3)), (3, 0))
    f['c8_1x9'] = npy_bytes(np.arange(9, dtype='<f8').reshape(1, 9), (1, 0))
    f['c8_6x1'] = npy_bytes(np.arange(6, dtype='<f8').reshape(6, 1), (1, 0))
    f['d8_7'] = npy_bytes(np.arange(7, dtype='<f8') + 0.125, (1, 0))
    f['d4_5_v2'] = npy_bytes(np.arange(5, dtype='<f4') * -2, (2, 0))
    f['d8_1'] = npy_bytes(np.array([np.pi]), (1, 0))
    f['special_values'] = npy_bytes(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308]), (1, 0))
    f['special_f4'] = npy_bytes(np.array([np.nan, -np.inf, 1e-45, 3.4e38], dtype='<f4'), (1, 0))
    f['c8_7x5'] = npy_bytes(np.arange(35, dtype='<f8').reshape(7, 5), (1, 0))
    f['c4_5x7'] = npy_bytes(np.arange(35, dtype='<f4').reshape(5, 7), (1, 0))
    six = struct.pack('<6d', *range(6))
    f['dict_double_quotes'] = raw('{"shape": (3, 2), "fortran_order": False, "descr": "<f8"}', six)
    f['dict_long_trailing_commas'] = raw("{'fortran_order':True,'shape':(3L,2L,),'descr':'<f8',}", six)
    f['dict_spaces_newlines_v2'] = raw("  {  'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 6 , ) }",
                                       struct.pack('<6f', *range(6)), major=2)
    f['dict_shape_int_v3'] = raw("{'descr': '<f8', 'fortran_order': False, 'shape': (6), }", six, major=3)
    f['dict_unpadded'] = raw("{'descr':'<f8','fortran_order':False,'shape':(6,)}", six, pad=False)
    f['dict_tabs_cr'] = raw("{\t'descr':\r'<f8',\t'fortran_order':\tFalse,'shape':(2,3)}\r\n", six)
    f['dict_escape'] = raw("{'descr': '<f\\8', 'fortran_order': False, 'shape': (6,)}", six)
    f['dict_latin1'] = raw("{'descr': '<f8\xe9', 'fortran_order': False, 'shape': (6,)}", six)
    # Broken files.
    good = f['c8_3x4_v1']
    f['bad_truncated_data'] = good[:-8]
    f['bad_trailing_bytes'] = good + b'xyz'
    f['bad_header_only'] = good[:20]
    f['bad_short'] = b'\x93NU'
    f['bad_magic'] = b'\x93NUMPX' + good[6:]
    f['bad_version4'] = b'\x93NUMPY\x04\x00' + good[8:]
    f['bad_version0'] = b'\x93NUMPY\x00\x00' + good[8:]
    f['bad_hlen_huge_v2'] = raw(hdr('(1,)'), major=2, hlen=0xffffffff)
    f['bad_hlen_past_end'] = raw(hdr('(1,)'), hlen=0x7fff)
    f['bad_hlen_zero'] = raw('', pad=False)
    f['bad_prefix_only_v2'] = b'\x93NUMPY\x02\x00\x10\x00'
    for name, shape in (('huge', '(4611686018427387904, 4611686018427387904)'),
                        ('too_long', '(99999999999999999999,)'), ('negative', '(-6,)'), ('list', '[6]'),
                        ('3d', '(1, 2, 3)'), ('33d', '(%s)' % ', '.join(['1'] * 33))):
        f['bad_shape_' + name] = raw(hdr(shape), six)
    f['bad_shape_max'] = raw(hdr('(9223372036854775807,)', order='True'), six)
    f['bad_shape_2x_max'] = raw(hdr('(3, 3074457345618258603)', descr="'<f4'"), six)
    f['bad_shape_0d'] = raw(hdr('()'), six[:8])
    f['bad_shape_empty'] = raw(hdr('(0, 5)'))
    f['bad_dtype_i8'] = npy_bytes(np.arange(6, dtype='<i8').reshape(2, 3), (1, 0))
    f['bad_dtype_be'] = npy_bytes(np.arange(6, dtype='>f8'), (1, 0))
    f['bad_dtype_c16'] = npy_bytes(np.arange(2, dtype='<c16'), (1, 0))
    f['bad_dtype_record'] = npy_bytes(np.zeros(2, dtype=[('a', '<f8'), ('b', '<f4')]), (1, 0))
    f['bad_dtype_nested'] = raw("{'descr': [('a', [('b', '<f8')], (2,)), ('c', '<f4')], 'fortran_order': False, 'shape': (1,)}", six)
    f['bad_unbalanced'] = raw("{'descr': ))]}, 'fortran_order': False, 'shape': (6,)}", six)
    f['bad_unterminated_string'] = raw("{'descr': '<f8, 'fortran_order': False, 'shape': (6,)}", six)
    f['bad_missing_key'] = raw("{'descr': '<f8', 'fortran_order': False}", six)
    f['bad_extra_key'] = raw("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", six)
    f['bad_bool'] = raw("{'descr': '<f8', 'fortran_order': Falsey, 'shape': (6,)}", six)
    f['bad_after_dict'] = raw("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} junk", six)
    f['bad_nul_in_header'] = raw("{'descr': '<f8\x00', 'fortran_order': False, 'shape': (6,)}", six)
    f['bad_long_key'] = raw("{'%s': 1, 'descr': '<f8', 'fortran_order': False, 'shape': (6,)}" % ('k' * 70), six)
    f['bad_long_descr'] = raw("{'descr': '%s', 'fortran_order': False, 'shape': (6,)}" % ('<f8' * 40), six)
    f['bad_text'] = b'just some text, not an array\n' * 3
    f['empty_file'] = b''
    return f


def cli_vectors():
    v = {
        'solve_files': ['solve', '--A', 'A.npy', '--y', 'y.npy', '-k', '12', '--out', 'r.json', '--x-out', 'x.npy'],
        'solve_problem': ['solve', '--problem', 'deconv', '-m', '256', '-n', '1024', '-k', '12', '--snr', '40',
                          '--width', '0.005', '--algo', 'sea', '--iters', '1000', '--monitor', '100'],
        'solve_lasso': ['solve', '--algo=fista', '--lambda-ratio=0.1', '--restart', '--continuation', '3',
                        '--debias', '--tol', '1e-8', '--problem', 'gaussian', '-m', '64', '-n', '256', '-k', '5'],
        'solve_options': ['solve', '--lsq', 'replicated', '--topk', 'threshold', '--step-rule', 'adaptive',
                          '--step', '0.5', '--dtype', 'float32', '--init', 'omp', '--truth', 't.npy',
                          '--seed', '18446744073709551615', '--quiet'],
        'solve_checkpoint': ['solve', '--checkpoint', 'c.ckpt', '--checkpoint-every', '10', '--resume', 'c.ckpt',
                             '--lambda', '0.01', '--algo', 'ista'],
        'solve_bad_values': ['solve', '--lsq', 'fast', '--topk=', '--dtype', 'float16', '--step-rule', ''],
        'solve_help': ['solve', '-k', '3', '--help'],
        'gen': ['gen', '--problem', 'gaussian', '-m', '64', '-n', '256', '-k', '5', '--out', 'dir', '--snr', '20',
                '--seed', '7', '--width', '0.02', '--quiet'],
        'gen_bad_problem': ['gen', '--problem', 'laplace', '-m', '1'],
        'info': ['info', 'A.npy'],
        'info_two': ['info', 'A.npy', 'B.npy'],
        'info_dash': ['info', '-'],
        'study': ['study', '--problems', 'gaussian,deconv', '--algos', 'sea,htp,fista', '--ks', '2,4,6',
                  '--trials', '2', '--out', 'r.csv', '--lambda-ratio', '0.01', '-m', '16', '-n', '32'],
        'study_bad_lists': ['study', '--problems', ',,', '--ks', '1,,2', '--algos', 'a' * 20],
        'study_long_list': ['study', '--ks', ','.join(str(k) for k in range(1, 40))],
        'bench': ['bench', '--quick', '--dtype', 'float32', '--reps', '3', '--iters', '5', '--out', 'b'],
        'bad_int': ['solve', '-k', '12abc'],
        'bad_int_range': ['solve', '--iters', '2147483648'],
        'bad_int_overflow': ['gen', '-m', '99999999999999999999'],
        'bad_u64_negative': ['gen', '--seed', '-1'],
        'bad_double': ['solve', '--snr', 'nan', '--tol', '1e999'],
        'bad_flag_value': ['solve', '--quiet=1'],
        'bad_missing_value': ['solve', '-k'],
        'bad_unknown': ['bench', '--fast', '-x', '--'],
        'bad_positional': ['gen', 'extra'],
        'equals_empty': ['solve', '--out=', '--A=a=b', '-k=3'],
        'unknown_command': ['frobnicate', '--x'],
        'empty': [''],
    }
    return {k: b'\0'.join(a.encode() for a in args) for k, args in v.items()}


# The checkpoint format (src/algo/ckpt.c, format 2): a header of 600 bytes (magic,
# version, checksum, file length, replicated length, m, n, fingerprint of A, problems,
# algo[16], opts[512]); per problem a 64-byte head (status, phase, iteration, budget,
# flags, fingerprint of y, items, bytes) and items, each a 40-byte head (name[24],
# kind, length) and its payload; then the distributed vectors.
CK_MARKER = b'\xc5'
HEADER, PHEAD, IHEAD = 600, 64, 40
M64 = (1 << 64) - 1


def ck_mix(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def ck_fix(b):
    """The file length and the checksum of b recomputed, as the harness does behind its
    marker (and tests/test_ckpt.c's put_checksum): Σ mix(w_i ^ mix(i·φ + c)), word 2 as 0."""
    b = bytearray(b)
    b[24:32] = struct.pack('<Q', len(b))
    b[16:24] = bytes(8)
    h = 0
    for i in range(0, len(b) - 7, 8):
        w = struct.unpack_from('<Q', b, i)[0]
        h = (h + ck_mix(w ^ ck_mix(((i // 8) * 0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d) & M64))) & M64
    b[16:24] = struct.pack('<Q', h)
    return bytes(b)


def ck_item(b, name, p=0):
    """Offset of the payload of problem p's item `name`, and its length (entries)."""
    pos = HEADER
    for _ in range(p):
        pos += PHEAD + struct.unpack_from('<q', b, pos + 56)[0]
    end = pos + PHEAD + struct.unpack_from('<q', b, pos + 56)[0]
    pos += PHEAD
    while pos + IHEAD <= end:
        nm = b[pos:pos + 24].split(b'\0')[0].decode()
        kind, n = struct.unpack_from('<qq', b, pos + 24)
        data = pos + IHEAD
        if nm == name:
            return data, n
        pos = data + (16 * n if kind == 3 else 8 * n if kind in (2, 4, 5, 6, 100) else 0)
    raise KeyError(name)


def ck_set(b, off, fmt, *v):
    b = bytearray(b)
    struct.pack_into(fmt, b, off, *v)
    return bytes(b)


# Inputs the fuzzer found, kept in the corpus as they were found (regression seeds: make
# check runs them); not made here, so kept when the corpus is written again.
CKPT_FOUND = (
    'bad_fista_inf_objective',   # a finite state resumed to an infinite objective, exit 0
    'bad_sea_passes_int64_max',  # passes = INT64_MAX taken, the next pass overflowed
    'bad_htp_negative_step',     # an HTP step of -4.8e232 taken, reported as the step
)


def ckpt_files():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    harness = os.path.join(root, os.environ.get('FUZZ_BUILD', 'build-fuzz'), 'fuzz_ckpt')
    if not os.access(harness, os.X_OK):
        sys.exit('mkcorpus.py: no %s (make fuzz-build first)' % harness)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SPREC_FUZZ_WRITE_SEEDS=tmp, SPREC_FUZZ_TMPDIR=tmp,
                   OMPI_MCA_mca_base_component_disable_dlclose='1')
        subprocess.run([harness], env=env, check=True)
        real = {}
        for k in sorted(os.listdir(tmp)):
            if os.path.isfile(os.path.join(tmp, k)):
                with open(os.path.join(tmp, k), 'rb') as fh:
                    real[k] = fh.read()
    f = {}
    for k, b in real.items():
        f['ok_' + k] = b
        f['fix_' + k] = CK_MARKER + b
    sea = real['sea_3']
    n = struct.unpack_from('<Q', sea, 48)[0]
    f['bad_empty'] = b''
    f['bad_short'] = sea[:7]
    f['bad_truncated'] = sea[:len(sea) // 2]
    f['bad_format1'] = b'SPRECCK1' + sea[8:]
    f['bad_bit_flipped'] = ck_set(sea, 700, '<B', sea[700] ^ 4)
    # Behind the marker, a valid checksum over an invalid field.
    f['fix_bad_version'] = CK_MARKER + ck_set(sea, 8, '<Q', 3)
    f['fix_bad_rep_len'] = CK_MARKER + ck_set(sea, 32, '<Q', len(sea) + 8)
    f['fix_bad_status'] = CK_MARKER + ck_set(sea, HEADER, '<q', 7)
    at, _ = ck_item(sea, 'x')
    f['fix_bad_index'] = CK_MARKER + ck_set(sea, at, '<q', n)
    at, _ = ck_item(sea, 'shape')
    f['fix_bad_lsq_shape'] = CK_MARKER + ck_set(sea, at, '<q', 99)
    f['fix_bad_options'] = CK_MARKER + sea[:88] + b'algo=sea init=none k=5' + sea[88 + 22:]
    # A batch's finished problem (problem 1: y = 0): its result's statistics.
    batch = real['batch_sea_5']
    at, _ = ck_item(batch, 'objective', 1)
    f['fix_bad_done_objective'] = CK_MARKER + ck_set(batch, at, '<d', float('nan'))
    at, _ = ck_item(batch, 'iterations', 1)
    f['fix_bad_done_iterations'] = CK_MARKER + ck_set(batch, at, '<q', 1000)
    for k in CKPT_FOUND:
        with open(os.path.join(ROOT, 'ckpt', k), 'rb') as fh:
            f[k] = fh.read()
    return f


def write(name, files):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for k, b in sorted(files.items()):
        with open(os.path.join(d, k), 'wb') as fh:
            fh.write(b)


if __name__ == '__main__':
    want = sys.argv[1:] or ['npy_header', 'npy_read', 'cli_args', 'ckpt']
    if 'npy_header' in want or 'npy_read' in want:
        npy = npy_files()
        for k in ('npy_header', 'npy_read'):
            if k in want:
                write(k, npy)
    if 'cli_args' in want:
        write('cli_args', cli_vectors())
    if 'ckpt' in want:
        write('ckpt', ckpt_files())
