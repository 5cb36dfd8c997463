#!/usr/bin/env bash
# Installs the Debian 12 packages postern needs to build, run and test.
# Idempotent: packages already installed are skipped; apt is only touched when something is missing.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang
  # libraries (see README: chosen dependencies)
  libevent-dev libssl-dev libunbound-dev libsqlite3-dev libargon2-dev libcrypt-dev
  libpsl-dev libidn2-dev libconfig-dev libjansson-dev libcurl4-openssl-dev libcap-dev zlib1g-dev
  # tests: unit (cmocka), fuzz (libFuzzer runtime for clang 14), integration (pytest + real clients)
  libcmocka-dev libclang-rt-14-dev
  python3 python3-pytest swaks libnet-ssleay-perl msmtp isync curl openssl sqlite3 procps iproute2
  fetchmail mpop   # real POP3 clients
  mutt tmux        # a real mail user agent, driven in a detached tmux (test_client_mutt.py)
  # Roundcube as webmail (test_client_roundcube.py) under PHP's built-in server, never a web
  # server: php8.2-cgi is named so that php8.2's "libapache2-mod-php8.2 | php8.2-fpm |
  # php8.2-cgi" is met without Apache or a php-fpm service; the test makes its own SQLite
  # database, so the package's dbconfig step is declined below. No daemon starts; the
  # packages only enable systemd timers (php's session cleanup, Roundcube's gc/cleandb)
  roundcube-core roundcube-sqlite3 php-cli php8.2-cgi
  # the Debian package (make deb) and its test: build tools, unit checks
  debhelper dpkg-dev fakeroot util-linux logrotate man-db
  # tests for the outbound queue: a local DNS server, SMTP sinks, an independent DKIM verifier
  unbound python3-aiosmtpd python3-dkim python3-nacl
  # SPF: the RFC 7208 suite's YAML (python3-yaml) and pyspf to cross-check against
  python3-yaml python3-spf
  python3-authres   # dkimpy's ARC signer needs it (tests/integration/test_arc.py)
  python3-dnspython # SPF at the next hop of forwarded mail (test_srs.py)
  python3-lxml      # DMARC aggregate reports are well-formed XML (test_dmarc_reports.py)
  # LMTP behind a real MTA: the tests run a private Postfix (postfix -c DIR) on loopback
  postfix
  # tests for postern import (a real Dovecot as the source) and for SORT and THREAD (the
  # same answers as Dovecot's): Dovecot is started by the tests themselves
  # (tests/integration/dovecot_fixture.py: own config, loopback high ports, base_dir in a
  # temp dir). They never use the Debian service; in a container policy-rc.d keeps the
  # postinst from starting it, and a running system Dovecot does not disturb the fixture.
  dovecot-imapd dovecot-pop3d
  # ClamAV: the tests start their own clamd (tests/integration/clamav_fixture.py) with only a
  # signature they make; the package's clamd and freshclam services are never started or used
  clamav-daemon clamav
  # rspamd as the content filter (src/filter/rspamd.c): the tests start their own rspamd and,
  # for its Bayes classifier (learning from moves into and out of Junk), a redis-server, both
  # on loopback high ports in a temp dir (tests/integration/rspamd_fixture.py)
  rspamd redis-server
  # the PROXY protocol (send-proxy, send-proxy-v2) from a real load balancer: the tests start
  # their own haproxy on loopback high ports with a temp config (tests/integration/test_proxy.py);
  # the package's service is never started or used
  haproxy
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# refresh the package lists only when they are absent or a day old
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
# Postfix only as a program for the tests: no system instance configured or started
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "roundcube-core roundcube/dbconfig-install boolean false" | debconf-set-selections
# no service may start from a postinst (Dovecot's default config would listen on *:143):
# the tests start their own instances on loopback
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" || { [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
