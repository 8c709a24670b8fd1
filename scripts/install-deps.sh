#!/usr/bin/env bash
# Install the Debian packages sprec needs, only those missing. Idempotent: when
# everything is present it returns at once without touching apt.
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libopenmpi-dev openmpi-bin          # MPI
  libscalapack-openmpi-dev            # ScaLAPACK with BLACS inside
  libopenblas-dev liblapacke-dev      # BLAS, LAPACK
  check                               # unit-test framework
  python3 python3-numpy               # independent .npy writer and reference checks in CLI tests
  gnuplot-nox                         # plots of the studies (PNG through pngcairo)
  libcjson-dev                        # JSON: results, the service's requests
  libmicrohttpd-dev libsqlite3-dev    # the service: HTTP server, durable state
  libcurl4-openssl-dev                # the service's client (sprec submit, status)
  libssl-dev                          # the service: SHA-256 (libcrypto) binding an Idempotency-Key to its request
  libfftw3-dev                        # FFTs of the convolution operator
  libhdf5-openmpi-dev                 # parallel HDF5 input and output
  zlib1g-dev                          # SciPy's compressed .npz sparse matrices
  python3-scipy python3-h5py          # independent writers and references in the tests
)
[ $# -gt 0 ] && pkgs+=("$@")          # extra packages a caller needs (e.g. slurm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
