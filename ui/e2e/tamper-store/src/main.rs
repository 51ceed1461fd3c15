//! `tamper-store DATA_DIR MAS_ID EVENT_ID FROM TO`: in the trace file of the
//! copied data dir, replaces the first `FROM` with `TO` in the stored JSON of
//! one trace event (and nothing else: its recorded hashes stay as they were).
//! Exits 1 when the event is missing or `FROM` is not in it.
use redb::{Database, ReadableTable, TableDefinition};

const TRACES: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("traces");

fn uuid(s: &str) -> u128 {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    u128::from_str_radix(&hex, 16).unwrap_or_else(|_| panic!("not a UUID: {s}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, mas, event, from, to] = args.as_slice() else {
        eprintln!("usage: tamper-store DATA_DIR MAS_ID EVENT_ID FROM TO");
        std::process::exit(2);
    };
    let db = Database::open(std::path::Path::new(dir).join("traces.redb")).expect("open the copied store");
    let key = (uuid(mas), uuid(event));
    let txn = db.begin_write().expect("write transaction");
    {
        let mut table = txn.open_table(TRACES).expect("the traces table");
        let body = match table.get(key).expect("read") {
            Some(v) => String::from_utf8(v.value().to_vec()).expect("stored JSON"),
            None => {
                eprintln!("tamper-store: no event {event} of MAS {mas}");
                std::process::exit(1);
            }
        };
        if !body.contains(from.as_str()) {
            eprintln!("tamper-store: {from:?} is not in event {event}: {body}");
            std::process::exit(1);
        }
        let changed = body.replacen(from.as_str(), to, 1);
        table.insert(key, changed.as_bytes()).expect("write");
    }
    txn.commit().expect("commit");
    println!("tamper-store: event {event} rewritten");
}
