//! `/announce` over real WebSockets (127.0.0.1, port 0): two clients meet through the
//! tracker, exchange an offer and an answer; bad input gets a failure reason; a closed
//! socket leaves its swarms.

use futures::{SinkExt, StreamExt};
use relay::http::{app, AppState};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use web_node::tracker::id_to_binary_string;

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn server() -> String {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "x").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(www.keep(), format!("http://{addr}"));
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    format!("ws://{addr}/announce")
}

async fn connect(url: &str) -> Client {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn send(c: &mut Client, v: Value) {
    c.send(Message::Text(v.to_string().into())).await.unwrap();
}

async fn recv(c: &mut Client) -> Value {
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), c.next()).await.expect("a reply");
    match next.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str(&t).unwrap(),
        other => panic!("unexpected {other:?}"),
    }
}

fn id(b: u8) -> String {
    id_to_binary_string(&[b; 20])
}

#[tokio::test]
async fn two_peers_meet_through_the_tracker() {
    let url = server().await;
    let (mut a, mut b) = (connect(&url).await, connect(&url).await);
    send(&mut a, json!({ "action": "announce", "info_hash": id(7), "peer_id": id(1), "left": 0, "event": "started", "numwant": 1, "offers": [] })).await;
    let r = recv(&mut a).await;
    assert_eq!((r["action"].clone(), r["complete"].clone(), r["interval"].clone()), (json!("announce"), json!(1), json!(120)));

    let offer = json!({ "type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n" });
    send(&mut b, json!({ "action": "announce", "info_hash": id(7), "peer_id": id(2), "left": 100, "event": "started",
        "numwant": 1, "offers": [{ "offer_id": id(9), "offer": offer }] })).await;
    let r = recv(&mut b).await;
    assert_eq!((r["complete"].clone(), r["incomplete"].clone()), (json!(1), json!(1)));
    let forwarded = recv(&mut a).await;
    assert_eq!(forwarded["offer"], offer);
    assert_eq!(forwarded["peer_id"], id(2).as_str());
    assert_eq!(forwarded["offer_id"], id(9).as_str());

    send(&mut a, json!({ "action": "announce", "info_hash": id(7), "peer_id": id(1), "to_peer_id": id(2),
        "offer_id": id(9), "answer": { "type": "answer", "sdp": "v=0 answer" } })).await;
    let answer = recv(&mut b).await;
    assert_eq!(answer["answer"]["sdp"], "v=0 answer");
    assert_eq!(answer["peer_id"], id(1).as_str());

    send(&mut b, json!({ "action": "announce", "info_hash": "too short", "peer_id": id(2) })).await;
    assert!(recv(&mut b).await["failure reason"].as_str().unwrap().contains("info_hash"));
    send(&mut b, json!("just a string")).await;
    assert!(recv(&mut b).await["failure reason"].is_string());

    // A goes away without `stopped`: the tracker forgets it.
    drop(a);
    let mut scraped = Value::Null;
    for _ in 0..50 {
        send(&mut b, json!({ "action": "scrape", "info_hash": [id(7)] })).await;
        scraped = recv(&mut b).await;
        if scraped["files"][id(7)]["complete"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(scraped["files"][id(7)], json!({ "complete": 0, "incomplete": 1, "downloaded": 0 }));
}
