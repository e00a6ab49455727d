//! Cross-language tests: the Rust binding against a C peer process on the
//! C library's own API, in both directions, over UDS and SHM, for every
//! service kind, with payloads large enough to be chunked or split, and
//! with restarts. Names say who talked to whom.
// Test names follow the project's convention `<client side>__<server side>_...`
// (STYLE.md): the double underscore separates who talked to whom.
#![allow(non_snake_case)]

mod common;

use common::*;

/// Items of the snapshot and lookup rows: a ~400 KiB snapshot (chunked on
/// UDS) and lookups split into many sub-calls of 1 KiB requests.
const ITEMS: u32 = 3000;

fn rust_client_c_server(kind: &str, shm: bool) {
    let dir = RunDir::new();
    let _server = CServer::start(kind, dir.path(), kind, shm, ITEMS);
    let mut client = connect(dir.path(), kind, shm);
    check_kind(kind, &mut client, ITEMS);
    // A second round on the same session.
    check_kind(kind, &mut client, ITEMS);
    // One connection; reconnects only to grow the limits (large requests).
    let st = client.status();
    assert_eq!((st.connect_count, st.error_count), (1, 0), "{:?}", st);
}

fn c_client_rust_server(kind: &str, shm: bool) {
    let dir = RunDir::new();
    let mut server = rust_server(kind, dir.path(), kind, shm, ITEMS);
    run_c_client(kind, dir.path(), kind, shm, ITEMS);
    // Counters move after a response is sent: join for the final numbers.
    server.join(PEER_BOUND).expect("join");
    assert!(server.stats().requests >= 1);
    assert_eq!(server.stats().request_errors, 0, "{:?}", server.stats());
}

macro_rules! cross {
    ($($kind:literal: $rc_uds:ident $rc_shm:ident $cr_uds:ident $cr_shm:ident;)*) => {$(
        #[test]
        fn $rc_uds() {
            rust_client_c_server($kind, false);
        }
        #[test]
        fn $rc_shm() {
            rust_client_c_server($kind, true);
        }
        #[test]
        fn $cr_uds() {
            c_client_rust_server($kind, false);
        }
        #[test]
        fn $cr_shm() {
            c_client_rust_server($kind, true);
        }
    )*};
}

cross! {
    "increment": rust_client__c_server_uds_increment rust_client__c_server_shm_increment
                 c_client__rust_server_uds_increment c_client__rust_server_shm_increment;
    "reverse": rust_client__c_server_uds_reverse rust_client__c_server_shm_reverse
               c_client__rust_server_uds_reverse c_client__rust_server_shm_reverse;
    "snapshot": rust_client__c_server_uds_snapshot rust_client__c_server_shm_snapshot
                c_client__rust_server_uds_snapshot c_client__rust_server_shm_snapshot;
    "cgroups-lookup": rust_client__c_server_uds_cgroups_lookup rust_client__c_server_shm_cgroups_lookup
                      c_client__rust_server_uds_cgroups_lookup c_client__rust_server_shm_cgroups_lookup;
    "apps-lookup": rust_client__c_server_uds_apps_lookup rust_client__c_server_shm_apps_lookup
                   c_client__rust_server_uds_apps_lookup c_client__rust_server_shm_apps_lookup;
}

/// The C server crashes (SIGKILL: its socket and SHM files stay behind) and
/// comes back; the Rust client's next call reconnects by itself.
fn rust_client_c_server_restart(kind: &str, shm: bool) {
    let dir = RunDir::new();
    let server = CServer::start(kind, dir.path(), kind, shm, ITEMS);
    let mut client = connect(dir.path(), kind, shm);
    check_kind(kind, &mut client, ITEMS);
    server.kill();
    let _server = CServer::start(kind, dir.path(), kind, shm, ITEMS);
    check_kind(kind, &mut client, ITEMS);
    let st = client.status();
    // At least the reconnect after the crash (growth may add one).
    assert!(st.reconnect_count >= 1 && st.error_count == 0, "{:?}", st);
    assert_eq!(st.selected_profile.is_shm(), shm, "{:?}", st);
}

/// The Rust server is dropped (a graceful stop) and created again while a C
/// client waits; its next call reconnects by itself.
fn c_client_rust_server_restart(kind: &str, shm: bool) {
    let dir = RunDir::new();
    let server = rust_server(kind, dir.path(), kind, shm, ITEMS);
    let client = CRestartClient::start(kind, dir.path(), kind, shm, ITEMS);
    drop(server);
    let _server = rust_server(kind, dir.path(), kind, shm, ITEMS);
    client.resume();
}

#[test]
fn rust_client__c_server_uds_restart() {
    rust_client_c_server_restart("increment", false);
}

#[test]
fn rust_client__c_server_shm_restart() {
    rust_client_c_server_restart("snapshot", true);
}

#[test]
fn c_client__rust_server_uds_restart() {
    c_client_rust_server_restart("cgroups-lookup", false);
}

#[test]
fn c_client__rust_server_shm_restart() {
    c_client_rust_server_restart("apps-lookup", true);
}

/// A Rust cache over a C server keeps its snapshot while the server is
/// gone and picks up the new one after a restart.
#[test]
fn rust_cache__c_server_shm_restart() {
    let dir = RunDir::new();
    let server = CServer::start("snapshot", dir.path(), "cgroups-snapshot", true, 10);
    let cache = netipc::CgroupsCache::new(dir.path(), "cgroups-snapshot", &client_config(true))
        .expect("cache");
    cache.refresh().expect("refresh");
    assert_eq!(cache.read().len(), 10);
    server.kill();
    assert!(cache.refresh().is_err(), "no provider: the refresh fails");
    {
        let guard = cache.read();
        assert_eq!(guard.len(), 10, "the old snapshot stays");
        let (name, path) = snapshot_item(3);
        assert_eq!(
            guard.get_by_name(name.as_bytes()).expect("cg-3").path,
            path.as_bytes()
        );
    }
    let _server = CServer::start("snapshot", dir.path(), "cgroups-snapshot", true, 20);
    cache.refresh().expect("refresh after the restart");
    let st = cache.status();
    assert_eq!(
        (st.item_count, st.generation, st.refresh_failure_count),
        (20, 20, 1),
        "{:?}",
        st
    );
}

/// A hostile or broken server truncates the SHM region file (profile 0x02,
/// a file in the run dir) under a live session: the next access faults
/// with SIGBUS inside this Rust process, whose standard library installed
/// its own SIGBUS handler before main. netipc's handler, installed on top,
/// repairs the fault (SHM_LOST, the session closes) and the process lives
/// on; the client reconnects.
#[test]
fn rust_client__c_server_shm_truncated_region() {
    let dir = RunDir::new();
    let _server = CServer::start("increment", dir.path(), "increment", true, 0);
    let cfg = client_config(true).exact_profiles(true); // upstream's file region, not the sealed memfd
    let mut client = netipc::Client::new(dir.path(), "increment", &cfg).expect("client");
    client.refresh().expect("refresh");
    assert_eq!(
        client.status().selected_profile,
        netipc::Profiles::SHM_HYBRID
    );
    assert_eq!(client.increment(1).expect("increment"), 2);

    let regions: Vec<_> = std::fs::read_dir(dir.path())
        .expect("run dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().map_or(false, |x| x == "ipcshm"))
        .collect();
    assert_eq!(regions.len(), 1, "{:?}", regions);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&regions[0])
        .expect("open")
        .set_len(0)
        .expect("truncate");

    // The call that meets the truncated region fails with SHM_LOST or, after
    // the at-least-once retry on a new session, succeeds; either way no crash.
    match client.increment(2) {
        Ok(v) => assert_eq!(v, 3),
        Err(e) => {
            assert_eq!(e.kind(), netipc::ErrorKind::ShmLost, "{}", e);
            client.refresh().expect("refresh after SHM_LOST");
        }
    }
    assert_eq!(client.increment(3).expect("increment after the repair"), 4);
    assert!(
        client.status().reconnect_count >= 1,
        "{:?}",
        client.status()
    );
}
