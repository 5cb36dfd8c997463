#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan) and runs
# each for SECONDS (default 20) on a scratch copy of its seed corpus, so the
# corpus in the repository is never modified. Exits non-zero if any target
# finds a crash, leak, timeout or failed check; the input that triggered it
# is kept in build-fuzz/artifacts/ for reproduction:
#   build-fuzz/tests/fuzz/fuzz_<name> build-fuzz/artifacts/<name>-crash-...
#
# usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail

seconds=${1:-20}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
targets=(smtp_parse smtp_data sasl imap_parse mime rdata pop3 dovecot_uidlist mail_summary inflate dkim_sig dkim_verify dmarc_record authres spf arc_parse arc_verify srs inbound clamav_reply rspamd_reply proxy_proto)

# The library is instrumented for coverage (fuzzer-no-link) but does not get
# libFuzzer's main(); only the fuzz targets link with -fsanitize=fuzzer.
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$root" -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}"

work=$(mktemp -d "${TMPDIR:-/tmp}/postern-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

# UBSan only reports by default; make it fatal so libFuzzer records the input.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
for name in "${targets[@]}"; do
  corpus=$work/$name
  mkdir -p "$corpus"
  cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
  echo "fuzz.sh: running fuzz_$name for ${seconds}s" >&2
  # -max_len: SMTP command lines are <= 512 octets; DATA input is a stream,
  # but a few KiB reach every state of the reader.
  max_len=1024
  [ "$name" = smtp_data ] && max_len=8192
  [ "$name" = imap_parse ] && max_len=4096
  [ "$name" = mime ] && max_len=16384
  [ "$name" = dovecot_uidlist ] && max_len=16384
  [ "$name" = mail_summary ] && max_len=8192
  [ "$name" = dkim_verify ] && max_len=8192
  [ "$name" = dmarc_record ] && max_len=8192
  [ "$name" = arc_verify ] && max_len=16384
  [ "$name" = rspamd_reply ] && max_len=8192
  [ "$name" = proxy_proto ] && max_len=4200
  if ! "$build/tests/fuzz/fuzz_$name" "$corpus" -max_total_time="$seconds" \
      -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$name-"; then
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: all targets ran ${seconds}s without a finding" >&2
