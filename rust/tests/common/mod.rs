//! Shared pieces of the integration tests: the deterministic data of every
//! service kind (the same rules as tests/c_peer.c), Rust servers and
//! checking clients built on them, and the C peer process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netipc::*;

pub use netipc::__doc::RunDir;

/// The C peer program built by build.rs.
pub const C_PEER: &str = env!("NETIPC_C_PEER");

/// Bound for anything that waits on a peer or a call: a limit for a hang,
/// not a speed expectation. Well above the library's documented windows
/// (5 s handshake, 5 s join), and above what the largest call of these
/// tests (a 3000-key lookup, ~50 sub-calls) takes under valgrind on a
/// loaded two-core machine (20-50 times slower than natively); the C peer
/// uses the same 120 s.
pub const PEER_BOUND: Duration = Duration::from_secs(120);

pub fn profiles(shm: bool) -> Profiles {
    if shm {
        Profiles::BASELINE | Profiles::SHM_HYBRID
    } else {
        Profiles::BASELINE
    }
}

pub fn server_config(shm: bool) -> ServerConfig {
    ServerConfig::new()
        .profiles(profiles(shm))
        .max_request_payload(1 << 20)
        .max_request_batch_items(1000)
        .max_response_payload(4 << 20)
}

pub fn client_config(shm: bool) -> ClientConfig {
    ClientConfig::new()
        .profiles(profiles(shm))
        .max_request_batch_items(1000)
        .max_payload_ceiling(16 << 20)
        .call_timeout(PEER_BOUND)
}

pub fn connect(dir: &Path, service: &str, shm: bool) -> Client {
    let mut c = Client::new(dir, service, &client_config(shm)).expect("client");
    c.refresh().expect("refresh");
    assert_eq!(
        c.status().selected_profile.is_shm(),
        shm,
        "{:?}",
        c.status()
    );
    c
}

// ------------------------------------------------------------------- data

pub fn snapshot_item(i: u32) -> (String, String) {
    let name = format!("cg-{}", i);
    let path = format!("/sys/fs/cgroup/cg-{}/{}", i, "x".repeat((i % 97) as usize));
    (name, path)
}

pub fn cgroups_key(i: u32) -> String {
    if i % 3 != 0 {
        format!("/known/slice-{}/unit-{}.scope", i / 7, i)
    } else {
        format!("/unknown/{}", i)
    }
}

pub fn app_pid(i: u32) -> u32 {
    1000 + i * 3
}

// ----------------------------------------------------------- Rust servers

pub fn rust_server(kind: &str, dir: &Path, service: &str, shm: bool, items: u32) -> Server {
    let cfg = server_config(shm);
    let server = match kind {
        "increment" => Server::increment(dir, service, &cfg, |v| Ok(v.wrapping_add(1))),
        "reverse" => Server::string_reverse(dir, service, &cfg, |input, out| {
            let out = out
                .get_mut(..input.len())
                .ok_or(ErrorKind::BufferTooSmall)?;
            for (o, i) in out.iter_mut().zip(input.iter().rev()) {
                *o = *i;
            }
            Ok(input.len())
        }),
        "snapshot" => Server::cgroups_snapshot(dir, service, &cfg, move |reply| {
            reply.begin(items, 1, u64::from(items));
            for i in 0..items {
                let (name, path) = snapshot_item(i);
                let mut item = CgroupItem::new(name.as_bytes(), path.as_bytes());
                item.options = i;
                item.enabled = i % 2;
                reply.add(&item)?;
            }
            Ok(())
        }),
        "cgroups-lookup" => Server::cgroups_lookup(dir, service, &cfg, |req, reply| {
            reply.set_generation(7);
            for path in req.iter() {
                if path.starts_with(b"/known/") {
                    let name_at = path.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
                    let len = path.len().to_string();
                    let labels = [
                        Label::new(b"kind", b"test"),
                        Label::new(b"len", len.as_bytes()),
                    ];
                    let orch = Orchestrator((path.len() % 8) as u16);
                    reply.add(&CgroupLookupAnswer::known(
                        path,
                        orch,
                        &path[name_at..],
                        &labels,
                    ))?;
                } else {
                    reply.add(&CgroupLookupAnswer::unknown_permanent(path))?;
                }
            }
            Ok(())
        }),
        "apps-lookup" => Server::apps_lookup(dir, service, &cfg, |req, reply| {
            reply.set_generation(9);
            for pid in req.iter() {
                if pid % 2 == 0 {
                    let comm = format!("p{}", pid % 1000);
                    let cpath = format!("/apps/{}", pid);
                    let cname = format!("app{}", pid);
                    let ptext = pid.to_string();
                    let labels = [Label::new(b"pid", ptext.as_bytes())];
                    let mut a = AppLookupAnswer::known(
                        pid,
                        pid / 2,
                        1000,
                        10 * u64::from(pid),
                        comm.as_bytes(),
                    );
                    a.cgroup_status = AppCgroupStatus::KNOWN;
                    a.orchestrator = Orchestrator::DOCKER;
                    a.cgroup_path = cpath.as_bytes();
                    a.cgroup_name = cname.as_bytes();
                    a.labels = &labels;
                    reply.add(&a)?;
                } else {
                    reply.add(&AppLookupAnswer::unknown(pid))?;
                }
            }
            Ok(())
        }),
        other => panic!("unknown kind {}", other),
    }
    .expect("create server");
    server.start().expect("start");
    server
}

// ------------------------------------------------------- checking clients

pub fn check_increment(c: &mut Client) {
    for v in 0..50u64 {
        assert_eq!(
            c.increment(v * 1_000_003).expect("increment"),
            v * 1_000_003 + 1
        );
    }
    let input: Vec<u64> = (0..100u64).map(|i| i << 32 | i).collect();
    let mut out = vec![0u64; input.len()];
    c.increment_batch(&input, &mut out).expect("batch");
    for (i, o) in input.iter().zip(&out) {
        assert_eq!(*o, i + 1);
    }
}

pub fn check_reverse(c: &mut Client) {
    for (k, n) in [0usize, 1, 5, 1000, 300_000].iter().enumerate() {
        let input: Vec<u8> = (0..*n).map(|i| b'a' + ((i * 7 + k) % 26) as u8).collect();
        let want: Vec<u8> = input.iter().rev().copied().collect();
        let got = c.string_reverse(&input).expect("reverse");
        assert!(got == &want[..], "reverse of {} bytes differs", n);
    }
}

pub fn check_snapshot(c: &mut Client, items: u32) {
    let snap = c.cgroups_snapshot().expect("snapshot");
    assert_eq!(snap.len(), items as usize);
    assert_eq!(
        (snap.systemd_enabled(), snap.generation()),
        (1, u64::from(items))
    );
    for (i, item) in snap.iter().enumerate() {
        let item = item.expect("item");
        let i = i as u32;
        let (name, path) = snapshot_item(i);
        assert_eq!(item.name, name.as_bytes());
        assert_eq!(item.path, path.as_bytes());
        assert_eq!(
            (item.hash, item.options, item.enabled),
            (djb2(name.as_bytes()), i, i % 2)
        );
    }
}

pub fn check_cgroups_lookup(c: &mut Client, items: u32) {
    let keys: Vec<String> = (0..items).map(cgroups_key).collect();
    let v = c.cgroups_lookup(&keys).expect("cgroups lookup");
    assert_eq!((v.len(), v.generation()), (items as usize, 7));
    for (i, (item, key)) in v.iter().zip(&keys).enumerate() {
        assert_eq!(item.path, key.as_bytes(), "item {}", i);
        if i % 3 != 0 {
            assert_eq!(item.status, CgroupLookupStatus::KNOWN, "item {}", i);
            assert_eq!(item.orchestrator, Orchestrator((key.len() % 8) as u16));
            assert_eq!(item.name, key.rsplit('/').next().unwrap_or("").as_bytes());
            let len = key.len().to_string();
            let labels: Vec<Label<'_>> = item.labels.iter().collect();
            assert_eq!(
                labels,
                [
                    Label::new(b"kind", b"test"),
                    Label::new(b"len", len.as_bytes())
                ]
            );
        } else {
            assert_eq!(
                item.status,
                CgroupLookupStatus::UNKNOWN_PERMANENT,
                "item {}",
                i
            );
            assert!(item.name.is_empty() && item.labels.is_empty());
        }
    }
}

pub fn check_apps_lookup(c: &mut Client, items: u32) {
    let pids: Vec<u32> = (0..items).map(app_pid).collect();
    let v = c.apps_lookup(&pids).expect("apps lookup");
    assert_eq!((v.len(), v.generation()), (items as usize, 9));
    for (it, &pid) in v.iter().zip(&pids) {
        assert_eq!(it.pid, pid);
        if pid % 2 == 0 {
            assert_eq!(it.status, AppStatus::KNOWN);
            assert_eq!(
                (it.ppid, it.uid, it.starttime),
                (pid / 2, 1000, 10 * u64::from(pid))
            );
            assert_eq!(it.comm, format!("p{}", pid % 1000).as_bytes());
            assert_eq!(
                (it.cgroup_status, it.orchestrator),
                (AppCgroupStatus::KNOWN, Orchestrator::DOCKER)
            );
            assert_eq!(it.cgroup_path, format!("/apps/{}", pid).as_bytes());
            assert_eq!(it.cgroup_name, format!("app{}", pid).as_bytes());
            let ptext = pid.to_string();
            let labels: Vec<Label<'_>> = it.labels.iter().collect();
            assert_eq!(labels, [Label::new(b"pid", ptext.as_bytes())]);
        } else {
            assert_eq!((it.status, it.uid), (AppStatus::UNKNOWN, UID_UNSET));
            assert!(it.comm.is_empty() && it.labels.is_empty());
        }
    }
}

pub fn check_kind(kind: &str, c: &mut Client, items: u32) {
    match kind {
        "increment" => check_increment(c),
        "reverse" => check_reverse(c),
        "snapshot" => check_snapshot(c, items),
        "cgroups-lookup" => check_cgroups_lookup(c, items),
        "apps-lookup" => check_apps_lookup(c, items),
        other => panic!("unknown kind {}", other),
    }
}

// ---------------------------------------------------------------- C peer

/// A C server process (`c_peer serve`): listening once constructed, stopped
/// gracefully (stdin closed) on drop.
pub struct CServer {
    child: Child,
    stdin: Option<ChildStdin>,
    killed: bool,
}

impl CServer {
    pub fn start(kind: &str, dir: &Path, service: &str, shm: bool, items: u32) -> CServer {
        let mut cmd = Command::new(C_PEER);
        cmd.arg("serve")
            .arg(kind)
            .arg(dir)
            .arg(service)
            .arg("--items")
            .arg(items.to_string());
        if shm {
            cmd.arg("--shm");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the C peer");
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        // The peer prints "ready" once listening, or exits with an error
        // (then the read returns EOF).
        out.read_line(&mut line).expect("read from the C peer");
        assert_eq!(line.trim(), "ready", "the C server did not start");
        CServer {
            child,
            stdin,
            killed: false,
        }
    }

    /// Kills the server without a chance to clean up (a crash).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.killed = true;
    }
}

impl Drop for CServer {
    fn drop(&mut self) {
        if self.killed {
            return;
        }
        self.stdin = None; // EOF: the peer stops, joins and exits
        let deadline = Instant::now() + PEER_BOUND;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if !std::thread::panicking() {
                        assert!(status.success(), "C server exited with {}", status);
                    }
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    if !std::thread::panicking() {
                        panic!("C server did not stop within {:?}", PEER_BOUND);
                    }
                    return;
                }
            }
        }
    }
}

fn c_client_command(kind: &str, dir: &Path, service: &str, shm: bool, items: u32) -> Command {
    let mut cmd = Command::new(C_PEER);
    cmd.arg("call")
        .arg(kind)
        .arg(dir)
        .arg(service)
        .arg("--items")
        .arg(items.to_string());
    if shm {
        cmd.arg("--shm");
    }
    cmd
}

/// Runs a C client (`c_peer call`) to completion and checks that it
/// reported success on the expected transport.
pub fn run_c_client(kind: &str, dir: &Path, service: &str, shm: bool, items: u32) {
    let out: Output = c_client_command(kind, dir, service, shm, items)
        .output()
        .expect("run the C peer");
    check_c_client_output(kind, shm, &out.status, &out.stdout, &out.stderr);
}

pub fn check_c_client_output(
    kind: &str,
    shm: bool,
    status: &std::process::ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
) {
    let stdout = String::from_utf8_lossy(stdout);
    assert!(
        status.success(),
        "C client failed ({}): {}{}",
        status,
        stdout,
        String::from_utf8_lossy(stderr)
    );
    let last = stdout.lines().last().unwrap_or("");
    let mut words = last.split_whitespace();
    assert_eq!(words.next(), Some("ok"), "C client said: {}", stdout);
    assert_eq!(words.next(), Some(kind));
    let profile = words
        .next()
        .and_then(|p| u32::from_str_radix(p.trim_start_matches("0x"), 16).ok());
    let profile = Profiles::from_bits(profile.expect("profile"));
    assert_eq!(profile.is_shm(), shm, "C client ran on {:?}", profile);
}

/// A C client started with --restart: it pauses after a first good round
/// until `resume()`, then calls again and requires a reconnect.
pub struct CRestartClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    kind: String,
    shm: bool,
}

impl CRestartClient {
    pub fn start(kind: &str, dir: &Path, service: &str, shm: bool, items: u32) -> CRestartClient {
        let mut child = c_client_command(kind, dir, service, shm, items)
            .arg("--restart")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the C peer");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read from the C peer");
        assert_eq!(line.trim(), "restart", "the C client's first round failed");
        CRestartClient {
            child,
            stdin,
            stdout,
            kind: kind.to_string(),
            shm,
        }
    }

    pub fn resume(mut self) {
        self.stdin.write_all(b"go\n").expect("write to the C peer");
        self.stdin.flush().expect("flush");
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut self.stdout, &mut rest).expect("read");
        let out = self.child.wait_with_output().expect("wait");
        check_c_client_output(&self.kind, self.shm, &out.status, &rest, &out.stderr);
    }
}
