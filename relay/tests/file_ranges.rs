//! `/file/{cid}` and its chunks answer RFC 9110 ranges and conditional requests, in memory
//! (`oneshot`): for a file the relay holds, and for the same file served through the bridge.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use relay::bridge::BridgeLimits;
use relay::file_http::LocalFile;
use relay::http::{app, AppState};
use tower::ServiceExt;

const LEN: usize = 1_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    content: Vec<u8>,
    cid: String,
    /// The file is held by the relay (`with_files`), or reached only through the bridge.
    state: AppState,
}

fn fixture(bridged: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a million bytes.bin");
    let content: Vec<u8> = (0..LEN as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let seeded = relay::seeding::ingest_all(std::slice::from_ref(&path), "http://127.0.0.1:1").unwrap().remove(0);
    let cid = seeded.manifest.cid_hex();
    let state = AppState::new(dir.path().to_path_buf(), "http://127.0.0.1:1".into());
    let state = if bridged {
        let state = state.with_bridge(dir.path(), BridgeLimits::default(), relay::outbound::OutboundPolicy::new(relay::outbound::Scope::Loopback));
        state.bridge.0.as_ref().unwrap().add_local(&path, &seeded.manifest).unwrap();
        state
    } else {
        state.with_files(vec![LocalFile::new(path, seeded.manifest)])
    };
    Fixture { _dir: dir, content, cid, state }
}

async fn send(f: &Fixture, method: Method, uri: &str, fields: &[(header::HeaderName, &str)]) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in fields {
        req = req.header(name, *value);
    }
    let res = app(f.state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(&name).map_or("", |v| v.to_str().unwrap())
}

/// The parts of a `multipart/byteranges` body: (Content-Range, bytes), read by length.
fn multipart(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").expect("a multipart content type");
    let mut rest = body.strip_prefix(format!("--{boundary}\r\n").as_bytes()).expect("the first boundary");
    let mut parts = Vec::new();
    loop {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("the end of a part's headers");
        let head = std::str::from_utf8(&rest[..end]).unwrap();
        let range = head.lines().find_map(|l| l.strip_prefix("Content-Range: ")).expect("Content-Range in every part").to_string();
        let (first, last) = range.strip_prefix("bytes ").unwrap().split_once('/').unwrap().0.split_once('-').unwrap();
        let n = last.parse::<usize>().unwrap() - first.parse::<usize>().unwrap() + 1;
        rest = &rest[end + 4..];
        parts.push((range, rest[..n].to_vec()));
        rest = rest[n..].strip_prefix(format!("\r\n--{boundary}").as_bytes()).expect("a boundary after the part");
        if rest == b"--\r\n" {
            return parts;
        }
        rest = rest.strip_prefix(b"\r\n").expect("a CRLF after the boundary");
    }
}

async fn the_whole_file_route(bridged: bool) {
    let f = fixture(bridged);
    let url = format!("/file/{}", f.cid);
    let etag = format!("\"{}\"", f.cid);

    let (status, headers, body) = send(&f, Method::GET, &url, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, f.content);
    assert_eq!(text(&headers, header::ETAG), etag);
    assert_eq!(text(&headers, header::ACCEPT_RANGES), "bytes");
    assert_eq!(headers.contains_key(header::LAST_MODIFIED), !bridged, "Last-Modified is the relay's file's mtime");
    assert!(text(&headers, header::CONTENT_DISPOSITION).starts_with("attachment; filename*=UTF-8''a%20million"));

    let (status, headers, body) = send(&f, Method::HEAD, &url, &[(header::RANGE, "bytes=0-9")]).await;
    assert_eq!((status, text(&headers, header::CONTENT_LENGTH), body.len()), (StatusCode::OK, "1000000", 0), "HEAD ignores Range and sends no body");

    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=-5000000")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT, "a suffix longer than the file is the whole file");
    assert_eq!(text(&headers, header::CONTENT_RANGE), "bytes 0-999999/1000000");
    assert_eq!(body, f.content);

    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=999990-2000000")]).await;
    assert_eq!((status, text(&headers, header::CONTENT_RANGE)), (StatusCode::PARTIAL_CONTENT, "bytes 999990-999999/1000000"));
    assert_eq!(body, f.content[999_990..]);

    // Two ranges, the second across the bridge's first piece boundary (256 KiB).
    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=0-9,262140-262149")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(text(&headers, header::CONTENT_LENGTH), body.len().to_string());
    let parts = multipart(text(&headers, header::CONTENT_TYPE), &body);
    assert_eq!(parts, vec![("bytes 0-9/1000000".into(), f.content[..10].to_vec()), ("bytes 262140-262149/1000000".into(), f.content[262_140..262_150].to_vec())]);

    let many: String = (0..17).map(|i| format!("{}-{}", i * 100, i * 100 + 9)).collect::<Vec<_>>().join(",");
    let (status, _, body) = send(&f, Method::GET, &url, &[(header::RANGE, &format!("bytes={many}"))]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, LEN), "more than 16 ranges: the whole file");
    let (status, _, _) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=0-99,50-149")]).await;
    assert_eq!(status, StatusCode::OK, "overlapping ranges: the whole file");

    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=1000000-")]).await;
    assert_eq!((status, text(&headers, header::CONTENT_RANGE)), (StatusCode::RANGE_NOT_SATISFIABLE, "bytes */1000000"));
    assert!(std::str::from_utf8(&body).unwrap().contains("\"error\""));

    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::IF_NONE_MATCH, &etag), (header::RANGE, "bytes=0-9")]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!(text(&headers, header::ETAG), etag);

    let (status, _, body) = send(&f, Method::GET, &url, &[(header::IF_RANGE, "\"stale\""), (header::RANGE, "bytes=0-9")]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, LEN), "If-Range with another tag: the whole file");
    let (status, _, body) = send(&f, Method::GET, &url, &[(header::IF_RANGE, &etag), (header::RANGE, "bytes=0-9")]).await;
    assert_eq!((status, &body[..]), (StatusCode::PARTIAL_CONTENT, &f.content[..10]));

    let (status, _, _) = send(&f, Method::GET, &url, &[(header::IF_MATCH, "\"stale\"")]).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send(&f, Method::GET, &url, &[(header::IF_MODIFIED_SINCE, "Fri, 01 Jan 2100 00:00:00 GMT")]).await;
    assert_eq!(status, if bridged { StatusCode::OK } else { StatusCode::NOT_MODIFIED }, "without Last-Modified, If-Modified-Since is ignored");
}

#[tokio::test]
async fn a_relay_held_file_honours_ranges_and_conditions() {
    the_whole_file_route(false).await;
}

#[tokio::test]
async fn a_bridged_file_honours_ranges_and_conditions() {
    the_whole_file_route(true).await;
}

#[tokio::test]
async fn chunks_have_their_own_validators() {
    let f = fixture(false);
    let url = format!("/file/{}/chunk/1", f.cid);
    let chunk = &f.content[262_144..2 * 262_144];
    let (status, headers, body) = send(&f, Method::GET, &url, &[]).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, chunk));
    let etag = format!("\"{}-1\"", f.cid);
    assert_eq!(text(&headers, header::ETAG), etag);
    let modified = text(&headers, header::LAST_MODIFIED).to_string();
    assert!(!modified.is_empty());
    assert_eq!(send(&f, Method::GET, &url, &[(header::IF_NONE_MATCH, &etag)]).await.0, StatusCode::NOT_MODIFIED);
    assert_eq!(send(&f, Method::GET, &url, &[(header::IF_MODIFIED_SINCE, &modified)]).await.0, StatusCode::NOT_MODIFIED);
    assert_eq!(send(&f, Method::GET, &url, &[(header::IF_NONE_MATCH, &format!("\"{}\"", f.cid))]).await.0, StatusCode::OK, "the file's tag is not the chunk's");
    let (status, headers, body) = send(&f, Method::GET, &url, &[(header::RANGE, "bytes=-10")]).await;
    assert_eq!((status, text(&headers, header::CONTENT_RANGE), &body[..]), (StatusCode::PARTIAL_CONTENT, "bytes 262134-262143/262144", &chunk[262_134..]));
}
