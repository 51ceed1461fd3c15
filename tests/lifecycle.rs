//! Process life cycle: graceful SIGTERM, refusing data dirs it must not use,
//! configuration files.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::start_in(tmp.path(), Options::default());
    let port = casa.port;

    // A request whose body is still arriving when SIGTERM comes.
    let body = br#"{"name": "created during shutdown"}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "POST /mas HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
    s.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let pid = casa.child.as_ref().unwrap().id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // No new connections are accepted while draining.
    let refused = http_client().get(casa.url("/healthz")).timeout(Duration::from_secs(2)).send();
    assert!(refused.is_err(), "a new request was served during shutdown: {refused:?}");

    s.write_all(&body[10..]).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "the in-flight request was not finished: {answer}");

    let status = casa.terminate_wait();
    assert_eq!(status.code(), Some(0), "{}", casa.logs());
    assert!(casa.logs().contains("casa stopped"), "{}", casa.logs());

    let casa = Casa::start_in(tmp.path(), Options::default());
    assert_eq!(casa.get("/mas").json()["items"][0]["name"], "created during shutdown");
}

#[test]
fn an_idle_node_stops_on_sigterm_with_exit_0() {
    let mut casa = Casa::start();
    casa.create_mas(json!({"name": "m"}));
    assert_eq!(casa.terminate().code(), Some(0));
}

#[test]
fn a_data_dir_from_a_newer_casa_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    {
        let db = redb::Database::create(data.join("casa.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(redb::TableDefinition::<&str, &str>::new("meta")).unwrap();
            meta.insert("schema_version", "99").unwrap();
        }
        txn.commit().unwrap();
    }
    let mut casa = Casa::spawn(tmp.path(), &Options::default());
    let status = casa.child.take().unwrap().wait().unwrap();
    assert!(!status.success());
    let logs = casa.logs();
    assert!(logs.contains("written by a newer casa (schema 99)"), "{logs}");
}

#[test]
fn a_second_node_on_the_same_data_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = Casa::start_in(tmp.path(), Options::default());
    let mut second = Casa::spawn(tmp.path(), &Options::default());
    let status = second.child.take().unwrap().wait().unwrap();
    assert!(!status.success());
    assert!(second.logs().contains("is in use by another casa process"), "{}", second.logs());
}

#[test]
fn settings_come_from_a_config_file_and_env_beats_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("casa.toml");
    std::fs::write(
        &config,
        "public_url = \"https://from-file.example\"\nmax_body_bytes = 2048\nlog_format = \"json\"\n",
    )
    .unwrap();
    let opts = Options {
        extra_args: vec!["--config".into(), config.display().to_string()],
        extra_env: vec![("CASA_PUBLIC_URL".into(), "https://from-env.example/".into())],
        ..Options::default()
    };
    let casa = Casa::start_in(tmp.path(), opts);
    let mas = casa.create_mas(json!({"name": "m"}));
    assert!(mas["realm"]["issuer"].as_str().unwrap().starts_with("https://from-env.example/realms/"), "{mas}");
    let r = casa.post("/mas", json!({"name": "x".repeat(3000)}));
    assert_eq!(r.status, 413, "max_body_bytes from the file applies: {r:?}");
    let logs = casa.logs();
    let line = logs.lines().find(|l| l.contains("casa is serving")).unwrap_or_else(|| panic!("{logs}"));
    assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "log_format from the file applies: {line}");

    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let out = std::process::Command::new(casa_bin()).arg("serve").arg("--config").arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"), "{out:?}");
}

#[test]
fn a_nonsensical_trace_retention_is_refused_naming_the_value_and_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("casa.toml");
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(casa_bin());
        cmd.args(args).arg("--data-dir").arg(tmp.path().join("data")).env_remove("CASA_TRACE_RETENTION");
        if let Some(v) = env {
            cmd.env("CASA_TRACE_RETENTION", v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{args:?} {env:?} was accepted: {out:?}");
        assert!(!tmp.path().join("data").exists(), "nothing was created before the refusal");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (&["serve", "--trace-retention", "0"], None, "must be positive; to keep events forever, say forever"),
        (&["serve", "--trace-retention=-5d"], None, "a whole number and a unit"),
        (&["serve", "--trace-retention", "30"], None, "add a unit: s, m, h or d"),
        (&["serve", "--trace-retention", "10y"], None, "the unit is one of s, m, h, d"),
        (&["serve", "--trace-retention", "99999d"], None, "at most 3650d"),
        (&["serve"], Some("5s"), "at least 60s"),
        (&["audit", "verify", "--mas", "00000000-0000-0000-0000-000000000000"], Some("1.5d"), "the unit is one of"),
    ];
    for (args, env, why) in cases {
        let err = run(args, env);
        assert!(err.contains("trace retention") && err.contains(why), "{args:?} {env:?}: {err}");
    }
    // In the file, the key is named too.
    std::fs::write(&config, "trace_retention = \"1w\"\n").unwrap();
    let err = run(&["serve", "--config", config.to_str().unwrap()], None);
    assert!(err.contains("trace_retention") && err.contains("the unit is one of"), "{err}");
    std::fs::write(&config, "trace_retention = 30\n").unwrap();
    let err = run(&["serve", "--config", config.to_str().unwrap()], None);
    assert!(err.contains("trace_retention"), "{err}");
}

#[test]
fn trace_retention_comes_from_the_file_env_or_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("casa.toml");
    std::fs::write(&config, "trace_retention = \"forever\"\n").unwrap();
    let opts = Options {
        extra_args: vec!["--config".into(), config.display().to_string(), "--log-format".into(), "json".into()],
        extra_env: vec![("CASA_TRACE_RETENTION".into(), "12h".into())],
        ..Options::default()
    };
    let mut casa = Casa::start_in(tmp.path(), opts);
    assert!(casa.logs().contains(r#""trace_retention":"12h""#), "the variable beats the file: {}", casa.logs());
    let mas = casa.create_mas(json!({"name": "kept"}));
    assert_eq!(casa.terminate().code(), Some(0));
    let id = mas["id"].as_str().unwrap();
    let verify = |retention: &str| {
        std::process::Command::new(casa_bin())
            .args(["audit", "verify", "--mas", id, "--trace-retention", retention, "--data-dir"])
            .arg(tmp.path().join("data"))
            .output()
            .unwrap()
    };
    for retention in ["forever", "7d"] {
        let out = verify(retention);
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 1 events"), "{out:?}");
    }
}

#[test]
fn a_model_dir_without_a_model_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-model-here");
    let mut child = std::process::Command::new(casa_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--embedder", "local", "--model-dir"])
        .arg(&missing)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("casa served without the model it was told to use");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("model_dir") && err.contains(&*missing.to_string_lossy()), "{err}");
    assert!(err.contains("no model.safetensors"), "{err}");
}
