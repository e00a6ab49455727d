//! Build script of the `netipc` crate.
//!
//! 1. Generates the Rust error kinds from `NIPC_ERROR_LIST` in
//!    `include/netipc/error.h`, the single source of the C enum, so the two
//!    cannot drift apart.
//! 2. Provides the C library, chosen by `NETIPC_LINK`:
//!    - unset or `source` (default): compiles the C sources of this tree,
//!      the list read from `cmake/NetipcSources.cmake` for the target OS;
//!    - `pkg-config`: links an installed `libnetipc` found by pkg-config;
//!    - `none`: links nothing; whoever links the final program supplies the
//!      `nipc_*` symbols (the benchmark driver links its own build).
//!
//!    `NETIPC_C_SANITIZE=address` compiles the C sources with AddressSanitizer
//!    and links its runtime into every test binary (see scripts/test.sh).
//! 3. Compiles `csrc/layout.c`, which records the size and field offsets of
//!    every C structure the binding shares, for the layout test.
//! 4. Builds `tests/c_peer.c`, the C program the cross-language tests run as
//!    a peer, and tells the tests where it is (`NETIPC_C_PEER`).
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = match env::var_os("NETIPC_SOURCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join(".."),
    };
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    for var in ["NETIPC_LINK", "NETIPC_SOURCE_DIR", "NETIPC_C_SANITIZE"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    let link = env::var("NETIPC_LINK").unwrap_or_else(|_| "source".to_string());
    let sanitize = env::var("NETIPC_C_SANITIZE").ok().filter(|s| !s.is_empty());

    // Where the headers are, and how the peer program links the library.
    let mut include_dirs: Vec<PathBuf> = Vec::new();
    let mut peer_link: Vec<String> = Vec::new();
    match link.as_str() {
        "source" => {
            let lib = build_from_source(&root, sanitize.as_deref());
            include_dirs.push(root.join("include"));
            peer_link.push(lib.display().to_string());
        }
        "pkg-config" => {
            let found = pkg_config::Config::new()
                .statik(false)
                .probe("netipc")
                .unwrap_or_else(|e| panic!("NETIPC_LINK=pkg-config: {}", e));
            include_dirs.extend(found.include_paths.iter().cloned());
            for dir in &found.link_paths {
                peer_link.push(format!("-L{}", dir.display()));
                peer_link.push(format!("-Wl,-rpath,{}", dir.display()));
                // Test and example binaries find a library installed off
                // the loader's path (programs of a consumer set their own).
                println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
            }
            for l in &found.libs {
                peer_link.push(format!("-l{}", l));
            }
        }
        "none" => include_dirs.push(root.join("include")),
        other => panic!("NETIPC_LINK={}: expected source, pkg-config or none", other),
    }
    let header = include_dirs
        .iter()
        .map(|d| d.join("netipc/error.h"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("netipc/error.h not found in {:?}", include_dirs));
    println!("cargo:rerun-if-changed={}", header.display());
    generate_error_kinds(&header, &out.join("error_kinds.rs"));

    let mut probe = cc::Build::new();
    probe
        .file(manifest.join("csrc/layout.c"))
        .flag("-std=c11")
        .warnings(true);
    for dir in &include_dirs {
        probe.include(dir);
    }
    probe.compile("netipc_rust_layout");
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("csrc/layout.c").display()
    );

    let peer_src = manifest.join("tests/c_peer.c");
    if link != "none" && peer_src.exists() {
        build_peer(
            &peer_src,
            &include_dirs,
            &peer_link,
            sanitize.as_deref(),
            &out,
        );
    }
}

/// Target OS as CMake's conditions in NetipcSources.cmake name it.
fn cmake_condition(cond: &str) -> bool {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match cond.trim() {
        "WIN32" => os == "windows",
        "CMAKE_SYSTEM_NAME STREQUAL \"Linux\"" => os == "linux",
        other => panic!(
            "cmake/NetipcSources.cmake: condition `{}` is new to rust/build.rs; teach cmake_condition() about it",
            other
        ),
    }
}

/// The C sources for this target, read from cmake/NetipcSources.cmake (the
/// list CMake builds), evaluating its if / else blocks.
fn source_list(root: &Path) -> Vec<PathBuf> {
    let cmake = root.join("cmake/NetipcSources.cmake");
    println!("cargo:rerun-if-changed={}", cmake.display());
    let text = fs::read_to_string(&cmake).unwrap_or_else(|e| panic!("{}: {}", cmake.display(), e));
    // One entry per open if(): (enclosing blocks active, condition, in else()).
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let mut files = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let active = stack
            .iter()
            .all(|&(outer, cond, in_else)| outer && cond != in_else);
        if let Some(cond) = line.strip_prefix("if(").and_then(|l| l.strip_suffix(')')) {
            let value = cmake_condition(cond);
            stack.push((active, value, false));
            continue;
        }
        if line.starts_with("elseif(") {
            panic!("cmake/NetipcSources.cmake: elseif() is new to rust/build.rs");
        }
        if line == "else()" {
            stack.last_mut().expect("else() without if()").2 = true;
            continue;
        }
        if line == "endif()" {
            stack.pop().expect("endif() without if()");
            continue;
        }
        if !active {
            continue;
        }
        for word in line.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            if word.starts_with("src/") && word.ends_with(".c") {
                files.push(root.join(word));
            }
        }
    }
    assert!(
        stack.is_empty(),
        "cmake/NetipcSources.cmake: unbalanced if()"
    );
    assert!(
        !files.is_empty(),
        "cmake/NetipcSources.cmake: no sources found"
    );
    files
}

/// Compiles the library as CMake does (C11, NIPC_BUILDING, _GNU_SOURCE on
/// POSIX) and returns the path of the static archive.
fn build_from_source(root: &Path, sanitize: Option<&str>) -> PathBuf {
    let files = source_list(root);
    for dir in ["src", "include"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let mut build = cc::Build::new();
    build
        .files(&files)
        .include(root.join("include"))
        .include(root.join("src"))
        .flag("-std=c11")
        .warnings(true)
        .define("NIPC_BUILDING", None)
        .flag_if_supported("-fvisibility=hidden");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "windows" {
        build.define("NIPC_STATIC", None);
    } else {
        build.define("_GNU_SOURCE", None);
    }
    if let Some(s) = sanitize {
        build
            .flag(&format!("-fsanitize={}", s))
            .flag("-fno-omit-frame-pointer");
        // The runtime of every program that links the instrumented library
        // (test binaries and doc tests alike). It is not the first library
        // there, so run them with ASAN_OPTIONS=verify_asan_link_order=0.
        match s {
            "address" => println!("cargo:rustc-link-lib=dylib=asan"),
            other => panic!("NETIPC_C_SANITIZE={}: only `address` is supported", other),
        }
    }
    build.compile("netipc");
    if target_os == "windows" {
        println!("cargo:rustc-link-lib=ntdll");
    } else {
        println!("cargo:rustc-link-lib=pthread");
    }
    PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("libnetipc.a")
}

/// Builds the C peer program of the cross-language tests.
fn build_peer(
    src: &Path,
    includes: &[PathBuf],
    link: &[String],
    sanitize: Option<&str>,
    out: &Path,
) {
    println!("cargo:rerun-if-changed={}", src.display());
    let exe = out.join("netipc_c_peer");
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut cmd = compiler.to_command();
    cmd.arg("-std=c11")
        .arg("-D_GNU_SOURCE")
        .arg("-O1")
        .arg("-g")
        .arg("-Wall")
        .arg("-Wextra");
    for dir in includes {
        cmd.arg(format!("-I{}", dir.display()));
    }
    if let Some(s) = sanitize {
        cmd.arg(format!("-fsanitize={}", s))
            .arg("-fno-omit-frame-pointer");
    }
    cmd.arg("-o").arg(&exe).arg(src).args(link).arg("-lpthread");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler: {}", e));
    assert!(
        status.success(),
        "building {} failed: {:?}",
        src.display(),
        cmd
    );
    println!("cargo:rustc-env=NETIPC_C_PEER={}", exe.display());
}

/// CamelCase of an X-macro name: NOT_FOUND -> NotFound.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

/// Reads `X(NAME, "message")` entries of NIPC_ERROR_LIST and writes the
/// ErrorKind enum and its tables.
fn generate_error_kinds(header: &Path, dest: &Path) {
    let text = fs::read_to_string(header).unwrap_or_else(|e| panic!("{}: {}", header.display(), e));
    let start = text
        .find("#define NIPC_ERROR_LIST(X)")
        .expect("NIPC_ERROR_LIST not found");
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in text[start..].lines().skip(1) {
        let t = line.trim().trim_end_matches('\\').trim();
        if let Some(rest) = t.strip_prefix("X(") {
            let (name, msg) = rest.split_once(',').expect("X(name, message)");
            let msg = msg.trim();
            let msg = msg.strip_suffix(')').expect("X(...)").trim();
            let msg = msg.trim_matches('"').to_string();
            entries.push((name.trim().to_string(), msg));
        } else if t.starts_with("/*") {
            continue;
        } else {
            break;
        }
    }
    assert!(
        entries.len() > 1 && entries[0].0 == "OK",
        "NIPC_ERROR_LIST must start with OK"
    );
    let mut s = String::new();
    s.push_str("// Generated by build.rs from NIPC_ERROR_LIST in include/netipc/error.h.\n\n");
    s.push_str("/// What went wrong: one kind per `nipc_error_t` code except `OK`.\n///\n");
    s.push_str("/// Generated from `NIPC_ERROR_LIST` in `include/netipc/error.h`, in its order;\n");
    s.push_str("/// the discriminant is the C code.\n///\n");
    s.push_str("/// ```\n/// use netipc::ErrorKind;\n/// assert_eq!(ErrorKind::Timeout.name(), \"TIMEOUT\");\n");
    s.push_str("/// assert_eq!(ErrorKind::from_code(ErrorKind::Timeout.code()), Some(ErrorKind::Timeout));\n/// ```\n");
    s.push_str(
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[non_exhaustive]\n",
    );
    s.push_str("#[repr(u32)]\npub enum ErrorKind {\n");
    for (i, (name, msg)) in entries.iter().enumerate().skip(1) {
        let _ = writeln!(
            s,
            "    /// {} (`NIPC_ERR_{}`).\n    {} = {},",
            msg,
            name,
            camel(name),
            i
        );
    }
    s.push_str("}\n\n");
    s.push_str("/// Every kind, in code order.\npub(crate) const ALL_KINDS: &[ErrorKind] = &[\n");
    for (name, _) in entries.iter().skip(1) {
        let _ = writeln!(s, "    ErrorKind::{},", camel(name));
    }
    s.push_str("];\n\n/// `(C name, message)` of every kind, in code order.\n");
    s.push_str("pub(crate) const KIND_TEXT: &[(&str, &str)] = &[\n");
    for (name, msg) in entries.iter().skip(1) {
        let _ = writeln!(s, "    ({:?}, {:?}),", name, msg);
    }
    s.push_str("];\n\n");
    let _ = writeln!(s, "/// Number of codes, `OK` included (`NIPC_ERR__COUNT`).\n#[cfg(test)]\npub(crate) const CODE_COUNT: u32 = {};", entries.len());
    fs::write(dest, s).unwrap_or_else(|e| panic!("{}: {}", dest.display(), e));
}
