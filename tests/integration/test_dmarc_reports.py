"""DMARC aggregate reports (RFC 7489 7.2) sent by the queue runner.

The data is put into the store the way port 25 records it (one INSERT into
the view dmarc_events per message, its trigger counting it), for yesterday
(UTC): reports cover completed days only. Then:
- a domain whose mail passed gets a gzip'd XML report (well-formed, the
  appendix C elements, hostile text escaped) at its rua= address, from <>,
  with RFC 7489 7.2.1.1's Subject and attachment name;
- a domain whose mail never passed gets none (its rua= is the forger's);
- an external rua= gets one only with TXT <policy>._report._dmarc.<dest>;
- dmarc.report_max_per_day holds, and `postern dmarc send-reports` sends
  the rest once the day has room (not here: the limit is per 24 hours);
- nothing is sent with dmarc.reports off (the default);
- `postern dmarc reports` shows the data and the outcomes.

World: queue_fixtures.py; every rua= domain's MX is the sink at MX["plain"]."""
import base64
import email
import email.policy
import gzip
import sqlite3
import time

import pytest
from lxml import etree

from dnsserver import DnsServer
from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    DNS_RECORDS, MX, qserver, queue_ca, queue_template, sinks, wait_for,
)

DMARC_RECORDS = DNS_RECORDS + [
    # report addresses: every domain below receives at the sink on MX["plain"]
    "good.test. 5 MX 10 mx.plain.test.",
    "forged.test. 5 MX 10 mx.plain.test.",
    "second.test. 5 MX 10 mx.plain.test.",
    # ext.test lets plain.test receive its reports; unauth.test does not
    'ext.test._report._dmarc.plain.test. 5 TXT "v=DMARC1"',
    # a record that is no DMARC record authorises nothing
    'spfonly.test._report._dmarc.plain.test. 5 TXT "v=spf1 -all"',
]


@pytest.fixture(scope="module")
def queue_dns():
    with DnsServer(DMARC_RECORDS, zones={"test.": "static"}) as dns:
        yield dns


YESTERDAY = int(time.time()) // 86400 - 1


def record(srv, domain, ip, rua, passed=True, count=1, header_from=None, day=YESTERDAY):
    """count messages of one row, as store_dmarc_record() records them."""
    db = sqlite3.connect(srv.data_dir / "postern.db")
    for _ in range(count):
        db.execute(
            "INSERT INTO dmarc_events(day, policy_domain, source_ip, header_from, disposition,"
            " dkim_aligned, spf_aligned, dkim_domain, dkim_result, spf_domain, spf_result,"
            " dmarc_pass, p, sp, pct, adkim, aspf, rua, max_domain_rows, max_day_rows)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 'pass', ?, 'reject', '', 100, 'r', 'r', ?,"
            " 1000, 20000)",
            (day, domain, ip, header_from or domain, "none" if passed else "reject",
             1 if passed else 0, domain, "pass" if passed else "fail", "bounce." + domain,
             1 if passed else 0, rua))
    db.commit()
    db.close()


def reports_config(**kw):
    return {"dmarc": {"reports": True, **kw}}


def parse(delivery):
    msg = email.message_from_bytes(delivery["data"], policy=email.policy.default)
    (att,) = [p for p in msg.walk() if p.get_content_type() == "application/gzip"]
    xml = gzip.decompress(att.get_content())
    return msg, att.get_filename(), etree.fromstring(xml)


def test_report_for_a_passing_domain(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver(reports_config(), start=False)
    record(srv, "good.test", "192.0.2.1", "mailto:agg@good.test!1m", count=3)
    record(srv, "good.test", "2001:db8::7", "mailto:agg@good.test!1m", passed=False)
    # hostile text from the wire must not break the XML
    record(srv, "good.test", "<x>&\"'</x>", "mailto:agg@good.test!1m",
           header_from="evil<!--.test")
    srv.start()
    (d,) = sink.wait_deliveries(1)
    assert d["mail_from"] in ("", "<>") and d["rcpts"] == ["agg@good.test"], d
    msg, filename, root = parse(d)
    subject = " ".join(str(msg["Subject"]).split())
    assert subject.startswith("Report Domain: good.test Submitter: mail.local.test Report-ID: <")
    rid = root.findtext("report_metadata/report_id")
    assert subject.endswith(f"<{rid}@mail.local.test>"), subject
    begin, end = YESTERDAY * 86400, YESTERDAY * 86400 + 86399
    assert filename == f"mail.local.test!good.test!{begin}!{end}!{rid}.xml.gz", filename
    assert "postmaster@mail.local.test" in msg["From"]
    assert root.findtext("report_metadata/org_name") == "mail.local.test"
    assert root.findtext("report_metadata/email") == "postmaster@mail.local.test"
    assert root.findtext("report_metadata/date_range/begin") == str(begin)
    assert root.findtext("policy_published/domain") == "good.test"
    assert root.findtext("policy_published/p") == "reject"
    rows = {r.findtext("row/source_ip"): r for r in root.findall("record")}
    assert set(rows) == {"192.0.2.1", "2001:db8::7", "<x>&\"'</x>"}, set(rows)
    good = rows["192.0.2.1"]
    assert good.findtext("row/count") == "3"
    assert good.findtext("row/policy_evaluated/dkim") == "pass"
    assert good.findtext("row/policy_evaluated/spf") == "fail"
    assert good.findtext("identifiers/header_from") == "good.test"
    assert good.findtext("auth_results/dkim/domain") == "good.test"
    assert good.findtext("auth_results/spf/domain") == "bounce.good.test"
    bad = rows["2001:db8::7"]
    assert bad.findtext("row/policy_evaluated/disposition") == "reject"
    assert bad.findtext("auth_results/dkim/result") == "fail"
    assert rows["<x>&\"'</x>"].findtext("identifiers/header_from") == "evil<!--.test"
    [e] = srv.wait_log("dmarc.report_sent")
    assert e["domain"] == "good.test" and e["to"] == "agg@good.test", e
    # sent once: the data is gone, the outcome listed
    p = srv.cli("dmarc", "reports")
    assert p.returncode == 0, p.stderr
    assert f"good.test" in p.stdout and "sent" in p.stdout and rid in p.stdout, p.stdout
    assert "msgs" not in p.stdout, p.stdout
    p = srv.cli("dmarc", "send-reports")
    assert p.returncode == 0, p.stderr
    srv.wait_log("dmarc.report_run", count=1)
    time.sleep(2.5)
    assert len(sink.received()) == 1


def test_no_report_for_a_domain_that_never_passed(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver(reports_config(), start=False)
    record(srv, "forged.test", "198.51.100.1", "mailto:victim@forged.test", passed=False,
           count=50)
    record(srv, "good.test", "192.0.2.1", "mailto:agg@good.test")
    srv.start()
    (d,) = sink.wait_deliveries(1)
    assert d["rcpts"] == ["agg@good.test"], d
    [e] = srv.wait_log("dmarc.report_skipped")
    assert e["domain"] == "forged.test" and e["reason"] == "not-passed", e
    time.sleep(1.5)
    assert len(sink.received()) == 1
    p = srv.cli("dmarc", "reports")
    assert "forged.test" in p.stdout and "not-passed" in p.stdout, p.stdout


def test_external_destinations_need_authorisation(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver(reports_config(), start=False)
    record(srv, "ext.test", "192.0.2.1", "mailto:reports@plain.test")
    record(srv, "unauth.test", "192.0.2.2", "mailto:reports@plain.test")
    record(srv, "spfonly.test", "192.0.2.3", "mailto:reports@plain.test")
    # a URI of another scheme and a second address: only the mailto: ones count
    record(srv, "second.test", "192.0.2.4",
           "https://second.test/r,mailto:a@second.test,mailto:b@plain.test")
    srv.start()
    got = sink.wait_deliveries(2)
    time.sleep(2)
    got = sink.received()
    to = sorted((d["rcpts"][0], parse(d)[2].findtext("policy_published/domain")) for d in got)
    assert to == [("a@second.test", "second.test"), ("reports@plain.test", "ext.test")], to
    skipped = {e["domain"]: e["reason"] for e in srv.logs("dmarc.report_skipped")}
    assert skipped == {"unauth.test": "unauthorised", "spfonly.test": "unauthorised"}, skipped


def test_rate_limit(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver(reports_config(report_max_per_day=2), start=False)
    for i in range(4):
        record(srv, f"good.test", f"192.0.2.{i}", "mailto:agg@good.test", day=YESTERDAY - i)
    srv.start()
    sink.wait_deliveries(2)
    srv.wait_log("dmarc.report_rate_limited")
    p = srv.cli("dmarc", "send-reports")
    assert p.returncode == 0, p.stderr
    srv.wait_log("dmarc.report_rate_limited", count=2)
    time.sleep(1.5)
    assert len(sink.received()) == 2
    p = srv.cli("dmarc", "reports")
    assert p.stdout.count(" sent ") == 2 and p.stdout.count("msgs") == 2, p.stdout


def test_reports_are_off_by_default(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver(start=False)
    record(srv, "good.test", "192.0.2.1", "mailto:agg@good.test", count=2)
    srv.start()
    p = srv.cli("dmarc", "send-reports")
    assert p.returncode == 1 and "dmarc.reports is off" in p.stderr, p.stderr
    time.sleep(2)
    assert sink.received() == []
    day = time.strftime("%Y-%m-%d", time.gmtime(YESTERDAY * 86400))
    p = srv.cli("dmarc", "reports", "--day", day)
    assert p.returncode == 0, p.stderr
    assert "good.test" in p.stdout and "2 msgs" in p.stdout and "192.0.2.1" in p.stdout, p.stdout
    p = srv.cli("dmarc", "reports", "--day", "yesterday")
    assert p.returncode == 2, p.stderr
