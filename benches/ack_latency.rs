//! Latency from a report's SMTP acceptance to its acknowledgement in the reporter's IMAP
//! mailbox (p50, p99 over 200 reports), with the daemon on IDLE against the loopback
//! Postfix + Dovecot of the test harness. Run: `cargo bench --bench ack_latency` (as root, with
//! the packages `.ci/run` installs). Throughput of the pipeline itself: `cvdbot bench ingest`.

#[allow(dead_code, unused_imports)]
#[path = "../tests/daemon.rs"]
mod daemon;

fn main() {
    daemon::bench_ack_latency();
}
