//! Behaviour of the binding itself, Rust against Rust (the C library in
//! between): handler failures and panics, aborts from another thread,
//! timeouts, run/stop, the cache's guards under concurrency, error
//! mapping, and the thread-safety markers.
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use netipc::*;

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn thread_safety_markers() {
    assert_send_sync::<Server>();
    assert_send_sync::<CgroupsCache>();
    assert_send_sync::<AbortHandle>();
    assert_send_sync::<Error>();
    assert_send::<Client>();
    assert_send_sync::<CgroupsSnapshot<'static>>();
    assert_send_sync::<CgroupsLookup<'static>>();
    assert_send_sync::<AppsLookup<'static>>();
}

#[test]
fn handler_error_and_panic_reach_the_client_as_remote_internal() {
    let dir = RunDir::new();
    let server = Server::increment(dir.path(), "inc", &ServerConfig::new(), |v| match v {
        13 => Err(ErrorKind::InvalidArgument.into()),
        666 => panic!("handler panic on purpose (the test expects this message)"),
        _ => Ok(v + 1),
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "inc", false);
    assert_eq!(
        c.increment(13).unwrap_err().kind(),
        ErrorKind::RemoteInternal
    );
    c.refresh().expect("refresh");
    assert_eq!(
        c.increment(666).unwrap_err().kind(),
        ErrorKind::RemoteInternal
    );
    // The server survived the panic and serves new sessions.
    c.refresh().expect("refresh");
    assert_eq!(c.increment(1).expect("increment"), 2);
}

#[test]
fn a_response_that_never_fits_is_overflow() {
    let dir = RunDir::new();
    let cfg = ServerConfig::new()
        .max_request_payload(1 << 20)
        .max_response_payload(1024);
    let server = Server::string_reverse(dir.path(), "rev", &cfg, |input, out| {
        let out = out
            .get_mut(..input.len())
            .ok_or(ErrorKind::BufferTooSmall)?;
        out.copy_from_slice(input);
        Ok(input.len())
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "rev", false);
    assert_eq!(c.string_reverse(b"fits").expect("small"), b"fits");
    let big = vec![b'x'; 4000];
    assert_eq!(
        c.string_reverse(&big).unwrap_err().kind(),
        ErrorKind::Overflow
    );
}

#[test]
fn a_handler_claiming_more_than_the_buffer_fails_the_call() {
    let dir = RunDir::new();
    let server = Server::string_reverse(dir.path(), "rev", &ServerConfig::new(), |_, out| {
        Ok(out.len() + 1)
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "rev", false);
    assert_eq!(
        c.string_reverse(b"x").unwrap_err().kind(),
        ErrorKind::RemoteInternal
    );
}

/// A handler that blocks until released (bounded by PEER_BOUND).
fn blocking_server(dir: &std::path::Path, release: Arc<AtomicBool>) -> Server {
    let server = Server::increment(dir, "slow", &ServerConfig::new(), move |v| {
        let until = Instant::now() + PEER_BOUND;
        while !release.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(v + 1)
    })
    .expect("server");
    server.start().expect("start");
    server
}

#[test]
fn abort_from_another_thread_wakes_a_blocked_call() {
    let dir = RunDir::new();
    let release = Arc::new(AtomicBool::new(false));
    let _server = blocking_server(dir.path(), Arc::clone(&release));
    let mut c = connect(dir.path(), "slow", false);
    let abort = c.abort_handle();
    let t0 = Instant::now();
    let aborter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        abort.abort();
    });
    let err = c.increment(1).unwrap_err();
    let took = t0.elapsed();
    aborter.join().expect("aborter");
    release.store(true, Ordering::Release);
    assert_eq!(err.kind(), ErrorKind::Aborted);
    // Woken by the abort, long before the handler would have answered.
    assert!(took < PEER_BOUND, "took {:?}", took);
    // Sticky until cleared, whatever the state: the aborted call broke the
    // session, and later calls and refresh() still say ABORTED.
    assert_eq!(c.increment(1).unwrap_err().kind(), ErrorKind::Aborted);
    assert_eq!(c.refresh().unwrap_err().kind(), ErrorKind::Aborted);
    assert_eq!(c.increment(1).unwrap_err().kind(), ErrorKind::Aborted);
    c.clear_abort();
    c.refresh().expect("refresh");
    assert_eq!(c.increment(1).expect("after clear"), 2);
}

#[test]
fn an_abort_handle_outlives_its_client() {
    let dir = RunDir::new();
    let c = Client::new(dir.path(), "x", &ClientConfig::new()).expect("client");
    let abort = c.abort_handle();
    drop(c);
    abort.abort(); // the C client is still allocated: harmless
    drop(abort);
}

#[test]
fn the_call_timeout_bounds_a_call() {
    let dir = RunDir::new();
    let release = Arc::new(AtomicBool::new(false));
    let _server = blocking_server(dir.path(), Arc::clone(&release));
    let mut c = connect(dir.path(), "slow", false);
    c.set_call_timeout(Some(Duration::from_millis(200)));
    let t0 = Instant::now();
    let err = c.increment(1).unwrap_err();
    release.store(true, Ordering::Release);
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // The deadline is kept in whole milliseconds: it may end up to 1 ms early.
    assert!(
        t0.elapsed() >= Duration::from_millis(199),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(c.state(), ClientState::Broken);
}

#[test]
fn run_on_a_thread_and_stop_from_another() {
    let dir = RunDir::new();
    let mut server =
        Server::increment(dir.path(), "inc", &ServerConfig::new(), |v| Ok(v + 1)).expect("server");
    std::thread::scope(|s| {
        let runner = s.spawn(|| server.run());
        let mut c = Client::new(dir.path(), "inc", &ClientConfig::new()).expect("client");
        // run() listens from creation: connect, and call through the loop.
        c.refresh().expect("refresh");
        assert_eq!(c.increment(5).expect("increment"), 6);
        assert_eq!(
            server.start().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        server.stop();
        runner.join().expect("run panicked").expect("run");
    });
    server.join(PEER_BOUND).expect("join");
    assert_eq!(server.stats().requests, 1);
}

#[test]
fn dropping_a_server_removes_its_endpoint() {
    let dir = RunDir::new();
    let server =
        Server::increment(dir.path(), "inc", &ServerConfig::new(), |v| Ok(v + 1)).expect("server");
    server.start().expect("start");
    drop(server);
    let mut c = Client::new(dir.path(), "inc", &ClientConfig::new()).expect("client");
    assert_eq!(c.refresh().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "files left behind"
    );
    // The name is free again.
    let again = Server::increment(dir.path(), "inc", &ServerConfig::new(), |v| Ok(v + 1))
        .expect("server again");
    again.start().expect("start");
    c.refresh().expect("refresh");
}

#[test]
fn creation_errors() {
    let dir = RunDir::new();
    let cfg = ServerConfig::new();
    let h = |v: u64| Ok(v + 1);
    assert_eq!(
        Server::increment(dir.path(), "a/b", &cfg, h)
            .unwrap_err()
            .kind(),
        ErrorKind::BadServiceName
    );
    assert_eq!(
        Server::increment(dir.path(), "a\0b", &cfg, h)
            .unwrap_err()
            .kind(),
        ErrorKind::BadServiceName
    );
    let missing = dir.path().join("missing");
    assert_eq!(
        Server::increment(&missing, "s", &cfg, h)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(
            Server::increment(&open, "s", &cfg, h).unwrap_err().kind(),
            ErrorKind::InsecureDir
        );
    }
    let _live = Server::increment(dir.path(), "s", &cfg, h).expect("server");
    assert_eq!(
        Server::increment(dir.path(), "s", &cfg, h)
            .unwrap_err()
            .kind(),
        ErrorKind::AddressInUse
    );
    assert_eq!(
        Client::new(dir.path(), "..", &ClientConfig::new())
            .unwrap_err()
            .kind(),
        ErrorKind::BadServiceName
    );
    assert_eq!(
        Client::new("", "s", &ClientConfig::new())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let too_big = ServerConfig::new().max_response_payload(u32::MAX);
    assert_eq!(
        Server::increment(dir.path(), "t", &too_big, h)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn calls_before_refresh_are_not_ready() {
    let dir = RunDir::new();
    let _server = rust_server("increment", dir.path(), "inc", false, 0);
    let mut c = Client::new(dir.path(), "inc", &ClientConfig::new()).expect("client");
    assert_eq!(c.increment(1).unwrap_err().kind(), ErrorKind::NotReady);
    c.refresh().expect("refresh");
    assert!(c.is_ready());
    c.close();
    assert_eq!(c.state(), ClientState::Disconnected);
    assert_eq!(c.increment(1).unwrap_err().kind(), ErrorKind::NotReady);
}

#[test]
fn argument_errors_are_caught_before_anything_is_sent() {
    let dir = RunDir::new();
    let _inc = rust_server("increment", dir.path(), "inc", false, 0);
    let mut c = Client::new(
        dir.path(),
        "inc",
        &ClientConfig::new().max_request_batch_items(4),
    )
    .expect("client");
    c.refresh().expect("refresh");
    let mut out = [0u64; 2];
    assert_eq!(
        c.increment_batch(&[1, 2, 3], &mut out).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut big = [0u64; 5];
    assert_eq!(
        c.increment_batch(&[0; 5], &mut big).unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
    c.increment_batch(&[], &mut [])
        .expect("an empty batch does no I/O");

    let _lookup = rust_server("cgroups-lookup", dir.path(), "cl", false, 0);
    let mut l = connect(dir.path(), "cl", false);
    assert_eq!(
        l.cgroups_lookup(&["/a", ""]).unwrap_err().kind(),
        ErrorKind::BadField
    );
    assert_eq!(
        l.cgroups_lookup(&[&b"/a\0b"[..]]).unwrap_err().kind(),
        ErrorKind::EmbeddedNul
    );
    // The session survived: nothing was sent (the failures count as errors).
    assert_eq!(l.cgroups_lookup(&["/known/x"]).expect("lookup").len(), 1);
    let st = l.status();
    assert_eq!(
        (st.connect_count, st.reconnect_count, st.error_count),
        (1, 0, 2),
        "{:?}",
        st
    );
}

#[test]
fn the_empty_string_reverses_to_itself() {
    let dir = RunDir::new();
    let _server = rust_server("reverse", dir.path(), "rev", false, 0);
    let mut c = connect(dir.path(), "rev", false);
    assert_eq!(c.string_reverse(b"").expect("empty"), b"");
}

#[test]
fn invalid_lookup_answers_are_bad_envelope() {
    let dir = RunDir::new();
    let server = Server::apps_lookup(dir.path(), "apps", &ServerConfig::new(), |req, reply| {
        for pid in req.iter() {
            // A wrong key echo: the builder refuses it.
            reply.add(&AppLookupAnswer::unknown(pid + 1))?;
        }
        Ok(())
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "apps", false);
    assert_eq!(
        c.apps_lookup(&[1, 2]).unwrap_err().kind(),
        ErrorKind::RemoteBadEnvelope
    );

    let short = Server::cgroups_lookup(dir.path(), "short", &ServerConfig::new(), |_, _| Ok(()))
        .expect("server");
    short.start().expect("start");
    let mut c = connect(dir.path(), "short", false);
    assert_eq!(
        c.cgroups_lookup(&["/a"]).unwrap_err().kind(),
        ErrorKind::RemoteBadEnvelope
    );
}

#[test]
fn a_generation_change_between_sub_calls_is_reported() {
    let dir = RunDir::new();
    let generation = Arc::new(AtomicU64::new(0));
    let g = Arc::clone(&generation);
    let cfg = ServerConfig::new().max_response_payload(1 << 20);
    let server = Server::apps_lookup(dir.path(), "apps", &cfg, move |req, reply| {
        reply.set_generation(g.fetch_add(1, Ordering::Relaxed));
        for pid in req.iter() {
            reply.add(&AppLookupAnswer::unknown(pid))?;
        }
        Ok(())
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "apps", false);
    // 1 KiB requests carry 63 PIDs: 500 PIDs take several sub-calls.
    let pids: Vec<u32> = (0..500).collect();
    assert_eq!(
        c.apps_lookup(&pids).unwrap_err().kind(),
        ErrorKind::GenerationChanged
    );
    // The session survived; a single sub-call has one generation.
    assert_eq!(c.apps_lookup(&pids[..10]).expect("small lookup").len(), 10);
}

#[test]
fn a_reply_that_overflows_is_cut_into_payload_exceeded_and_stitched() {
    // Small responses force the reply builder to cut, and the client to
    // ask again for the rest: the caller sees one complete answer.
    let dir = RunDir::new();
    let cfg = ServerConfig::new().max_response_payload(8192);
    let server = Server::cgroups_lookup(dir.path(), "cl", &cfg, |req, reply| {
        let big = vec![b'v'; 700];
        for path in req.iter() {
            let labels = [Label::new(b"big", &big)];
            reply.add(&CgroupLookupAnswer::known(
                path,
                Orchestrator::LXC,
                b"n",
                &labels,
            ))?;
        }
        Ok(())
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "cl", false);
    let keys: Vec<String> = (0..40).map(|i| format!("/k/{}", i)).collect();
    let v = c.cgroups_lookup(&keys).expect("lookup");
    assert_eq!(v.len(), 40);
    for (item, key) in v.iter().zip(&keys) {
        assert_eq!(
            (item.status, item.path),
            (CgroupLookupStatus::KNOWN, key.as_bytes())
        );
        assert_eq!(item.labels.get(0).expect("label").value.len(), 700);
    }
    assert!(c.status().call_count > 1, "{:?}", c.status());
}

#[test]
fn more_than_sixteen_labels_take_the_heap_path() {
    let dir = RunDir::new();
    let server = Server::cgroups_lookup(dir.path(), "cl", &ServerConfig::new(), |req, reply| {
        let keys: Vec<String> = (0..40).map(|i| format!("k{}", i)).collect();
        let labels: Vec<Label<'_>> = keys
            .iter()
            .map(|k| Label::new(k.as_bytes(), b"v"))
            .collect();
        for path in req.iter() {
            reply.add(&CgroupLookupAnswer::known(
                path,
                Orchestrator::K8S,
                b"pod",
                &labels,
            ))?;
        }
        Ok(())
    })
    .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "cl", false);
    let v = c.cgroups_lookup(&["/p"]).expect("lookup");
    let item = v.get(0).expect("item");
    assert_eq!(item.labels.len(), 40);
    assert_eq!(item.labels.get(39).expect("last").key, b"k39");
}

#[test]
fn cache_readers_and_a_refresher_on_many_threads() {
    let dir = RunDir::new();
    let _server = rust_server("snapshot", dir.path(), "cgroups-snapshot", true, 500);
    let cache =
        CgroupsCache::new(dir.path(), "cgroups-snapshot", &client_config(true)).expect("cache");
    cache.refresh().expect("first refresh");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3u32 {
            let (cache, stop) = (&cache, &stop);
            s.spawn(move || {
                let mut rounds = 0u32;
                while !stop.load(Ordering::Relaxed) || rounds < 10 {
                    let guard = cache.read();
                    let i = (rounds * 7 + t) % 500;
                    let (name, path) = snapshot_item(i);
                    let item = guard.get_by_name(name.as_bytes()).expect("present");
                    assert_eq!(item.path, path.as_bytes());
                    assert_eq!(guard.len(), 500);
                    drop(guard);
                    rounds += 1;
                }
            });
        }
        for _ in 0..20 {
            cache.refresh().expect("refresh");
        }
        stop.store(true, Ordering::Relaxed);
    });
    let st = cache.status();
    assert_eq!((st.refresh_success_count, st.item_count), (21, 500));
}

#[test]
#[should_panic(expected = "already holds a read guard")]
fn nested_cache_guards_panic_instead_of_deadlocking() {
    let dir = RunDir::new();
    let cache =
        CgroupsCache::new(dir.path(), "cgroups-snapshot", &ClientConfig::new()).expect("cache");
    let _outer = cache.read();
    let _inner = cache.read();
}

#[test]
#[should_panic(expected = "would deadlock")]
fn refresh_inside_a_guard_panics_instead_of_deadlocking() {
    let dir = RunDir::new();
    let cache =
        CgroupsCache::new(dir.path(), "cgroups-snapshot", &ClientConfig::new()).expect("cache");
    let _guard = cache.read();
    let _ = cache.refresh();
}

#[test]
fn guards_of_two_caches_may_be_held_together() {
    let dir = RunDir::new();
    let _server = rust_server("snapshot", dir.path(), "cgroups-snapshot", false, 5);
    let a =
        CgroupsCache::new(dir.path(), "cgroups-snapshot", &ClientConfig::new()).expect("cache a");
    let b =
        CgroupsCache::new(dir.path(), "cgroups-snapshot", &ClientConfig::new()).expect("cache b");
    a.refresh().expect("refresh a");
    let ga = a.read();
    b.refresh()
        .expect("refresh b (a guard of another cache is held)");
    let gb = b.read();
    assert_eq!((ga.len(), gb.len()), (5, 5));
    drop(ga);
    drop(gb);
    // After the guards, the thread-local bookkeeping is clean again.
    assert_eq!(a.status().item_count, 5);
    drop(a.read());
}

#[test]
fn snapshot_reply_without_begin_is_an_empty_snapshot() {
    let dir = RunDir::new();
    let server = Server::cgroups_snapshot(dir.path(), "s", &ServerConfig::new(), |_| Ok(()))
        .expect("server");
    server.start().expect("start");
    let mut c = connect(dir.path(), "s", false);
    let snap = c.cgroups_snapshot().expect("snapshot");
    assert!(snap.is_empty());
    assert_eq!(snap.generation(), 0);
}

#[test]
fn error_values_describe_themselves() {
    let e = Error::from(ErrorKind::GenerationChanged);
    assert_eq!(e.kind().name(), "GENERATION_CHANGED");
    assert!(e.to_string().contains("call again"), "{}", e);
    assert!(format!("{:?}", e).contains("GenerationChanged"));
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(boxed.source().is_none());
}
