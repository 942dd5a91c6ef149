use super::*;

const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const U2: &str = "4d22fa47-71ca-11e1-9e33-c80aa9429562";

#[test]
fn mariadb_state_keeps_the_last_transaction_of_each_domain() {
    let mut s = GtidState::parse_mariadb("").unwrap();
    for g in ["0-1-5", "1-7-2", "0-1-6", "0-2-7"] {
        s.apply(&g.parse().unwrap());
    }
    assert_eq!(s.to_string(), "0-2-7,1-7-2");
    assert_eq!(s, "0-2-7, 1-7-2".parse().unwrap());
    assert!("0-1".parse::<GtidState>().is_err());
    assert!(
        "0-1-5,0-2-6".parse::<GtidState>().is_err(),
        "a domain twice"
    );
}

#[test]
fn mysql_set_grows_by_ranges_in_and_out_of_order() {
    let mut s = GtidState::parse_mysql("").unwrap();
    for n in [1, 2, 3, 7, 5, 6, 4, 10, 9] {
        s.apply(&format!("{U1}:{n}").parse().unwrap());
    }
    s.apply(&format!("{U2}:1").parse().unwrap());
    // Applying one twice changes nothing.
    s.apply(&format!("{U1}:3").parse().unwrap());
    assert_eq!(s.to_string(), format!("{U1}:1-7:9-10,{U2}:1"));
}

#[test]
fn mysql_sets_parse_as_the_server_prints_them() {
    let text = format!("{}:1-100:105,\n{U2}:3", U1.to_uppercase());
    let s: GtidState = text.parse().unwrap();
    assert_eq!(s.to_string(), format!("{U1}:1-100:105,{U2}:3"));
    // Overlapping and unsorted ranges are normalised.
    let s = GtidState::parse_mysql(&format!("{U1}:5-9:1-3:4:8-12")).unwrap();
    assert_eq!(s.to_string(), format!("{U1}:1-12"));
    // MySQL 8.4 tags name their own source.
    let s = GtidState::parse_mysql(&format!("{U1}:1-5:etl:1-2")).unwrap();
    assert_eq!(s.to_string(), format!("{U1}:1-5,{U1}:etl:1-2"));
    let mut t = s.clone();
    t.apply(&format!("{U1}:etl:3").parse().unwrap());
    assert_eq!(t.to_string(), format!("{U1}:1-5,{U1}:etl:1-3"));
    for wrong in ["nope:1-5", &format!("{U1}:5-1"), &format!("{U1}:x")] {
        assert!(GtidState::parse_mysql(wrong).is_err(), "{wrong}");
    }
    assert!(
        "".parse::<GtidState>().is_err(),
        "start = \"gtid:\" is refused"
    );
}

#[test]
fn mysql_sets_become_the_sids_of_a_gtid_dump_request() {
    let s = GtidState::parse_mysql(&format!("{U1}:1-7:9,{U2}:2")).unwrap();
    let sids = s.mysql_sids();
    assert_eq!(sids.len(), 2);
    let ranges: Vec<(u64, u64)> = sids[0]
        .intervals()
        .iter()
        .map(|i| (i.start(), i.end()))
        .collect();
    // The protocol's intervals end one past the last number.
    assert_eq!(ranges, vec![(1, 8), (9, 10)]);
}

#[test]
fn the_checkpoint_stores_the_flavour_with_the_text() {
    let m = GtidState::parse_mariadb("0-1-9").unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, r#"{"mariadb":"0-1-9"}"#);
    assert_eq!(serde_json::from_str::<GtidState>(&json).unwrap(), m);
    // An empty MariaDB state is still a MariaDB state.
    let empty = GtidState::parse_mariadb("").unwrap();
    let back: GtidState = serde_json::from_str(&serde_json::to_string(&empty).unwrap()).unwrap();
    assert!(back.is_mariadb());
    let y = GtidState::parse_mysql(&format!("{U1}:1-3")).unwrap();
    let json = serde_json::to_string(&y).unwrap();
    assert_eq!(serde_json::from_str::<GtidState>(&json).unwrap(), y);
    assert!(serde_json::from_str::<GtidState>(r#"{"mariadb":"x"}"#).is_err());
}

#[test]
fn the_first_transaction_one_state_has_and_another_lacks() {
    let m = |s: &str| GtidState::parse_mariadb(s).unwrap();
    let server = m("0-1-10,1-2-5");
    assert_eq!(m("0-1-10").first_not_in(&server), None);
    assert_eq!(m("0-1-7,1-2-5").first_not_in(&server), None);
    assert_eq!(m("0-1-11").first_not_in(&server).as_deref(), Some("0-1-11"));
    assert_eq!(m("7-1-1").first_not_in(&server).as_deref(), Some("7-1-1"));
    // What an old file starts with, seen by a reader of domain 0 only.
    assert_eq!(server.domains_of(&m("0-1-3")), m("0-1-10"));
    assert_eq!(
        m("0-1-10").first_not_in(&m("0-1-3")).as_deref(),
        Some("0-1-10")
    );

    let y = |s: &str| GtidState::parse_mysql(s).unwrap();
    let server = y(&format!("{U1}:1-10:12-20,{U2}:1-3"));
    assert_eq!(y(&format!("{U1}:1-10")).first_not_in(&server), None);
    assert_eq!(y(&format!("{U1}:13-20,{U2}:2")).first_not_in(&server), None);
    assert_eq!(
        y(&format!("{U1}:1-12")).first_not_in(&server),
        Some(format!("{U1}:11"))
    );
    assert_eq!(
        y(&format!("{U1}:15-21")).first_not_in(&server),
        Some(format!("{U1}:21"))
    );
    assert_eq!(
        y(&format!("{U2}:5")).first_not_in(&server),
        Some(format!("{U2}:5"))
    );
    assert_eq!(y(&format!("{U2}:5")).first_not_in(&m("0-1-1")), None);
}
