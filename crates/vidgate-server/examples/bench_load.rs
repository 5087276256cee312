//! The load generator of `scripts/bench.sh`: HTTP/1.1 keep-alive requests over plain TCP,
//! closed loop (each connection sends its next request when the last is answered) or open
//! loop at a fixed rate (request `i` is due at `start + i / rate`, and its latency counts
//! from that moment, so a server that stalls is charged for the requests it delayed:
//! no coordinated omission).
//!
//! It prints one JSON object: requests, failures (transport errors and non-2xx), the
//! achieved rate, latency percentiles in milliseconds and, with `--pid`, the CPU time and
//! context switches that process spent during the run, per request.
//!
//! A hand-written client keeps the generator's own cost far below the servers' (one
//! allocation-free request per connection per round trip), so a ceiling measured with it is
//! the server's, not the client's.
//!
//! ```text
//! bench_load --url http://127.0.0.1:8080/v1/videos/tasks/ID [--method POST --body JSON]
//!            [--header 'Authorization: Bearer KEY'] [--connections 32] [--seconds 5]
//!            [--rate 2000] [--pid 1234]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    host: String,
    path: String,
    method: String,
    body: String,
    headers: Vec<String>,
    connections: usize,
    seconds: f64,
    rate: Option<f64>,
    pid: Option<u32>,
}

fn parse_args() -> Args {
    let mut a = Args {
        host: String::new(),
        path: String::new(),
        method: "GET".into(),
        body: String::new(),
        headers: Vec::new(),
        connections: 32,
        seconds: 5.0,
        rate: None,
        pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => {
                let url = value();
                let rest = url.strip_prefix("http://").expect("an http:// URL");
                let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                a.host = host.to_owned();
                a.path = if path.is_empty() { "/".into() } else { path.to_owned() };
            }
            "--method" => a.method = value(),
            "--body" => a.body = value(),
            "--header" => a.headers.push(value()),
            "--connections" => a.connections = value().parse().expect("a number of connections"),
            "--seconds" => a.seconds = value().parse().expect("seconds"),
            "--rate" => a.rate = Some(value().parse().expect("requests per second")),
            "--pid" => a.pid = Some(value().parse().expect("a process id")),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.host.is_empty(), "--url is required");
    a
}

fn request_bytes(a: &Args) -> Vec<u8> {
    let mut r = format!("{} {} HTTP/1.1\r\nHost: {}\r\n", a.method, a.path, a.host);
    for h in &a.headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    if a.method != "GET" {
        r.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", a.body.len()));
    }
    r.push_str("\r\n");
    r.push_str(&a.body);
    r.into_bytes()
}

/// Reads one response; returns its status. Only `Content-Length` bodies (what the servers
/// under test send).
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or(std::io::ErrorKind::InvalidData)?;
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut have = buf.len() - head_end;
    while have < length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
    }
    Ok(status)
}

struct Shared {
    request: Vec<u8>,
    host: String,
    start: Instant,
    end: Instant,
    rate: Option<f64>,
    next: AtomicU64,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    failures: u64,
}

async fn connection(shared: Arc<Shared>) -> Tally {
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut stream: Option<TcpStream> = None;
    loop {
        let due = match shared.rate {
            Some(rate) => {
                let i = shared.next.fetch_add(1, Ordering::Relaxed);
                let due = shared.start + Duration::from_secs_f64(i as f64 / rate);
                if due >= shared.end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => {
                let now = Instant::now();
                if now >= shared.end {
                    break;
                }
                now
            }
        };
        if stream.is_none() {
            match TcpStream::connect(&shared.host).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    tally.failures += 1;
                    continue;
                }
            }
        }
        let s = stream.as_mut().expect("connected");
        let answered = async {
            s.write_all(&shared.request).await?;
            read_response(s, &mut buf).await
        }
        .await;
        let latency = due.elapsed().as_micros() as u64;
        match answered {
            Ok(status) if (200..300).contains(&status) => tally.latencies_us.push(latency),
            Ok(_) => tally.failures += 1,
            Err(_) => {
                tally.failures += 1;
                stream = None;
            }
        }
    }
    tally
}

/// (CPU seconds, context switches) of a process so far, over all its threads.
fn process_usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum()).unwrap_or(0);
    let mut switches = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            for line in status.lines() {
                if let Some(n) = line.strip_prefix("voluntary_ctxt_switches:") {
                    switches += n.trim().parse::<u64>().unwrap_or(0);
                }
                if let Some(n) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
                    switches += n.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    // USER_HZ is 100 on Linux.
    (ticks as f64 / 100.0, switches)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let before = args.pid.map(process_usage);
    let start = Instant::now();
    let shared = Arc::new(Shared {
        request: request_bytes(&args),
        host: args.host.clone(),
        start,
        end: start + Duration::from_secs_f64(args.seconds),
        rate: args.rate,
        next: AtomicU64::new(0),
    });
    let tallies = runtime.block_on(async {
        let handles: Vec<_> = (0..args.connections).map(|_| tokio::spawn(connection(shared.clone()))).collect();
        let mut all = Vec::new();
        for h in handles {
            all.push(h.await.expect("a connection task"));
        }
        all
    });
    let elapsed = start.elapsed().as_secs_f64();
    let after = args.pid.map(process_usage);
    let mut latencies: Vec<u64> = tallies.iter().flat_map(|t| t.latencies_us.iter().copied()).collect();
    let failures: u64 = tallies.iter().map(|t| t.failures).sum();
    latencies.sort_unstable();
    let ok = latencies.len() as f64;
    let mut out = serde_json::json!({
        "requests": latencies.len(),
        "failures": failures,
        "seconds": elapsed,
        "rps": ok / elapsed,
        "p50_ms": percentile(&latencies, 0.50),
        "p90_ms": percentile(&latencies, 0.90),
        "p99_ms": percentile(&latencies, 0.99),
        "p999_ms": percentile(&latencies, 0.999),
        "max_ms": latencies.last().map_or(0.0, |&l| l as f64 / 1000.0),
    });
    if let (Some((cpu0, sw0)), Some((cpu1, sw1))) = (before, after) {
        let cpu = cpu1 - cpu0;
        out["server_cpu_s"] = serde_json::json!(cpu);
        out["server_cpu_us_per_request"] = serde_json::json!(if ok > 0.0 { cpu * 1e6 / ok } else { 0.0 });
        out["server_cpu_share"] = serde_json::json!(cpu / elapsed);
        out["server_switches_per_request"] = serde_json::json!(if ok > 0.0 { (sw1 - sw0) as f64 / ok } else { 0.0 });
    }
    println!("{out}");
}
