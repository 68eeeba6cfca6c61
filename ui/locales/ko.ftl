# Chiral 페이지 (한국어).

## Header and footer
page-title = Chiral · 브라우저에서 파일 공유
nav-share = 공유
nav-download = 다운로드
nav-library = 라이브러리
nav-wallet = 지갑
nav-network = 네트워크
locale-title = 언어
footer = 파일 해시는 이 탭에서 계산되며, 직접 공유하기 전에는 어떤 데이터도 기기 밖으로 나가지 않습니다.

## Units
units-percent = { $n }%
units-b = { $n } B
units-kib = { $n } KiB
units-mib = { $n } MiB
units-gib = { $n } GiB
units-tib = { $n } TiB
units-mb-per-s = { $n } MB/s
units-kb-per-s = { $n } kB/s
units-seconds = { $s }초
units-min-s = { $min }분 { $s }초
units-h-min = { $h }시간 { $min }분

## Shared words
save = 저장
copy = 복사
remove = 제거

## Network view
net-connecting = 연결 중…
net-connected = 연결됨
net-retrying = 연결 끊김 ({ $error }); { $seconds }초 후 { $attempt }번째 재시도
net-online = 온라인
net-offline = 오프라인
net-starting = 시작 중…
net-title = 네트워크
net-lede = 이 탭은 릴레이를 통해 DHT에 접속하는 Kademlia 노드(클라이언트 모드)입니다.
net-connection = 연결
net-relay = 릴레이
net-peer-id = 이 페이지의 피어 ID
net-connected-peers = 연결된 피어
net-routing-table = DHT 라우팅 테이블
net-routing-peers = 피어 { $count }개

## NAT traversal card (Network view)
ice-none = 없음 (같은 네트워크의 피어끼리만 직접 연결됩니다)
ice-title = NAT 통과
ice-lede = 서로 다른 가정용 네트워크의 브라우저는 STUN(자신의 공인 주소 확인)으로 서로 연결하고, 직접 경로가 없으면 TURN 릴레이를 거칩니다.
ice-from-relay = 이 릴레이 제공:
ice-unavailable = 사용할 수 없음 ({ $error }); 다시 시도 중
ice-asking = 요청 중…
ice-own-servers = 직접 지정할 서버, 한 줄에 하나씩:
ice-or = 또는
ice-saved = 저장됨: 내 서버 { $count }개를 새 연결에 사용합니다
copied = 복사됨 ✓
copy-failed = 복사 실패
passphrase = 암호 문구

## Share view
share-need-passphrase = 암호화하려면 암호 문구를 입력하거나 “암호화” 선택을 해제하세요.
share-unreadable = 선택한 파일을 읽을 수 없습니다: { $error }
share-picker-failed = 파일 선택기 오류: { $error }
share-title = 파일 공유
share-lede = 콘텐츠 ID, BitTorrent 마그넷, ed2k 링크가 바로 여기, 브라우저 안에서 계산됩니다.
share-drop-title = 파일을 여기에 끌어다 놓거나 클릭해서 선택하세요
share-drop-hint = 크기 제한 없음: 조각 단위로 읽으며 파일 전체를 메모리에 올리지 않습니다.
share-pick-title = 이렇게 선택하거나 끌어다 놓은 파일은 새로고침 후에도 복사본 없이 디스크에서 바로 다시 시드할 수 있습니다
share-pick = 디스크에서 계속 시드할 파일 선택…
share-encrypt = 먼저 암호화 (AES-256-GCM, 암호 문구에서 키 생성)
share-hashing = 해시 계산 중:
share-of = { $done } / { $total }
share-eta = 남은 시간 { $time }
share-chunks-of = { $count ->
       *[other] 개의 256 KiB 청크
    }
share-encrypted = 암호화됨
share-hashed-in = 해시 계산 { $time } ({ $rate })
share-cid = 콘텐츠 ID
share-infohash = Infohash
share-magnet = 마그넷
share-ed2k-link = ed2k 링크
share-merkle-root = 머클 루트
publish-waiting = 네트워크 대기 중…
publish-publishing = DHT에 게시 중…
publish-published = { $time }에 DHT에 게시됨 · 이 탭이 열려 있는 동안 시드합니다
publish-relay-only = 릴레이에만 저장됨 (아직 다른 DHT 피어가 없음)
publish-failed = 게시 실패: { $error }
publish-label = 검색 노출
seed-encrypted = 암호화된 파일은 암호문으로 공유되는데 이 탭은 암호문을 보관하지 않습니다. 릴레이 저장소가 지원되면 시드할 수 있습니다
seed-not-seeded = 시드하지 않음: { $error }
seed-seeding = 이 탭에서 시드 중 · 피어 { $count }개 · ↑ { $rate } · { $sent } 전송
seed-label = 시드

## Download view
dl-bad-cid = 콘텐츠 ID는 16진수 64자리입니다.
dl-not-connected = 아직 네트워크에 연결되지 않았습니다. 잠시 후 다시 시도하세요.
dl-title = 다운로드
dl-auto-seed = 이 탭이 열려 있는 동안 완료된 다운로드를 계속 시드
dl-from = 다운로드 출처
dl-who-has = 누가 파일을 가지고 있나요?
dl-who-has-lede = 모든 다운로드는 DHT 조회로 시작합니다. 콘텐츠 ID를 붙여 넣어 누가 가지고 있는지 확인하세요.
dl-cid-placeholder = 콘텐츠 ID (16진수 64자리)
dl-find = 찾기
dl-asking = DHT에 조회 중:
dl-nobody-before = 현재 DHT에서{" "}
dl-nobody-after = 을(를) 가진 피어가 없습니다.
dl-chunks = 청크 { $count }개
dl-conflicting = 이 파일에 대해 서로 다른 기록 { $count }건을 제외했습니다.
dl-download = 다운로드
dl-seeders = 시더 { $count }명
col-protocol = 프로토콜
col-peer = 피어
col-endpoint = 엔드포인트
col-price = 가격
col-chunks = 청크
dl-free = 무료
dl-price-per-mb = MB당 { $price }
dl-have-of = 청크 { $count }개 중 { $have }개 보유
dl-no-usable-record = 이 파일의 DHT 기록 중 사용할 수 있는 infohash와 머클 루트를 가진 것이 없습니다.
dl-paste-hint = 마그넷 링크, ed2k 링크 또는 콘텐츠 ID(16진수 64자리)를 붙여 넣으세요.
dl-looking-up = DHT에서 { $cid } 조회 중…
dl-nobody = 현재 DHT에 { $cid }을(를) 가진 피어가 없습니다.
dl-input-placeholder = 마그넷 링크, ed2k 링크 또는 콘텐츠 ID
sources-both = 브라우저(WebRTC)와 릴레이(HTTP, BitTorrent 브리지)
sources-webrtc = 브라우저만 (WebRTC)
sources-relay = 릴레이만 (HTTP, BitTorrent 브리지)

## Transfers (Download view)
tr-resume-failed = 저장된 다운로드를 재개할 수 없습니다: { $error }
tr-start-failed = 다운로드를 시작할 수 없습니다: { $error }
tr-no-good-root = DHT가 제공한 사본 중 요청한 파일과 일치하는 것이 없습니다(주장 { $count }건이 콘텐츠 ID 검사에 실패). 아무것도 저장하거나 지불하지 않았습니다.
tr-save-failed = 파일을 저장할 수 없습니다: { $error }
tr-folder-save-failed = 폴더를 저장할 수 없습니다: { $error }
tr-delete-failed = 저장된 조각을 삭제할 수 없습니다: { $error }
tr-metadata = 피어와 파일 메타데이터를 찾는 중…
tr-downloading = 다운로드 중 · 남은 시간 { $time }
tr-verifying = 파일 전체 검증 중… { $percent }
tr-complete = 완료
tr-seeding = 시드 중
tr-error = 오류: { $error }
tr-cid-matches = ✓ SHA-256이 콘텐츠 ID와 일치합니다
tr-cid-mismatch = ✗ SHA-256이 콘텐츠 ID와 일치하지 않습니다
tr-pieces = 조각 { $have } / { $count }
tr-peers = 피어 { $count }개
tr-banned = 손상된 데이터로 { $count }개 차단
tr-kept-title = 파일 전체가 콘텐츠 ID 검사에 실패한 사본에서 보존한 조각으로, 각각 이 루트로 다시 검증했습니다
tr-kept = 거부된 사본에서 보존한 조각 { $count }개
tr-check-title = 각 조각을 보존하기 전에 검증하는 방식
tr-check-both = 조각: SHA-1 + SHA-256
tr-check-waiting = 청크 해시 대기 중…
tr-check-sha1 = 조각: SHA-1
col-client = 클라이언트
col-pieces = 조각
tr-path-title = 이 연결의 패킷 경로: 두 브라우저 사이 직접(각자의 NAT 통과) 또는 릴레이의 TURN 서버 경유
tr-refused = 이 사본에 대해서는 아무에게도 지불하지 않습니다: { $reason }. 저장하거나 시드하지 않으며, 이 사본을 가리킨 기록은 삭제됩니다.
tr-save-file = 파일 저장
tr-play = 재생
tr-play-title = 다운로드하면서 재생: 재생 위치의 조각을 먼저 받습니다
tr-stream-unavailable = 여기서는 스트리밍을 사용할 수 없습니다: { $error }
tr-chunkmap-title = 각 청크를 보낸 소스
tr-source-chunks = { $source } · 청크 { $count }개

## Library view
lib-title = 라이브러리
lib-lede = 이 브라우저가 공유하고 다운로드한 파일입니다. 여기에 보관한 파일은 새로고침이나 재시작 후에도 이 페이지가 열릴 때마다 다시 시드됩니다.
lib-uploaded = 업로드
lib-upload-rate = 업로드 속도
lib-earned-title = 이 지갑이 시드한 파일로 받은 결제
lib-earned = 수익
lib-shared = 공유 중
lib-reading = 라이브러리 읽는 중…
lib-empty = 아직 보관한 파일이 없습니다. 파일을 공유하고 “새로고침 후에도 계속 시드”를 선택하세요.
lib-downloaded = 다운로드함
lib-no-downloads = 이 브라우저에 다운로드가 없습니다.
lib-stopped = 중지됨: { $error }
lib-seeding-peers = 시드 중 · 피어 { $count }개
lib-checking = 파일 확인 중…
lib-copying = 이 브라우저로 복사 중… { $percent }
lib-needs-access = 일시 중지됨: 파일을 다시 읽으려면 브라우저에 권한이 필요합니다
lib-missing = 없음: 파일이 사라졌습니다
lib-changed = 시드하지 않음: 파일이 변경되었습니다 ({ $error })
lib-location-title = 데이터를 읽어 오는 위치
lib-location-copy = 이 브라우저의 사본
lib-location-disk = 디스크의 내 파일
lib-uploaded-in-all = 총 { $size } 업로드
lib-earned-file-title = 이 파일로 받은 결제
lib-earned-amount = { $amount } 수익
lib-added = { $date } 추가
lib-in-dht-since = { $time }부터 DHT에 있음
lib-in-dht-since-relay = { $time }부터 DHT에 있음 (릴레이만)
lib-not-in-dht = 아직 DHT에 없음
lib-forgot-permission = 브라우저가 이 파일을 읽을 권한을 잊었습니다. 시드를 재개하려면 다시 허용하세요.
lib-regrant = 권한을 다시 부여하고 { $name } 시드 재개
lib-stop-sharing = 공유 중지
lib-state-downloading = 다운로드 중
lib-state-verifying = 검증 중
lib-state-error = 오류
lib-uploaded-size = { $size } 업로드
lib-details = 자세히
keep-unavailable = 암호화된 공유는 보관되지 않습니다: 암호문이 디스크에 없습니다.
keep-offer = 새로고침 후에도 계속 시드: 이 브라우저 저장소에 사본 보관 ({ $size })
keep-copying = 이 브라우저 저장소로 복사 중… { $percent }
keep-error = 보관하지 못함: { $error }
keep-kept-disk = 라이브러리에 있음: 이 페이지가 열릴 때마다 디스크에서 다시 시드합니다.
keep-kept-copy = 라이브러리에 있음: 이 페이지가 열릴 때마다 이 브라우저의 사본이 시드합니다.
keep-open-library = 라이브러리 열기
keep-label = 새로고침 후

## Sharing a folder (Share view) and a folder torrent's files (Download view)
folder-n-files = 파일 { $count }개
folder-title = 폴더 공유
folder-lede = 여러 파일이나 폴더 전체를 하나의 토렌트로 만듭니다(각 파일은 자체 콘텐츠 ID를 그대로 가집니다).
folder-choose-folder = 폴더 선택…
folder-choose-files = 여러 파일 선택…
folder-hashing = 파일 { $count }개 해시 계산 중 · { $done } / { $total }
folder-id-title = 폴더 매니페스트의 SHA-256: 각 파일의 경로, 크기, CID, ed2k 해시
folder-id = 폴더 ID
col-file = 파일
col-size = 크기
col-progress = 진행률
folder-seeding = 이 탭이 열려 있는 동안 시드합니다(실시간 수치는 다운로드 화면 참고). 각 파일은 따로 게시되어 콘텐츠 ID로도 찾을 수 있습니다:
folder-download-file = 이 파일 다운로드
folder-skipped = 건너뜀
folder-files-chosen = 파일 { $count }개 · { $chosen }개 선택
folder-save-all = 모두 폴더에 저장…

## eD2k fetch by the relay (Download view)
ed2k-fetching = 릴레이가 eD2k 소스 { $count }곳에서 { $name }을(를) 가져오는 중: { $total } 중 { $done } 검증됨
ed2k-done = 릴레이가 { $name }을(를) 확보했습니다(모든 부분을 ed2k 해시셋으로 확인). 아래에서 릴레이로부터 다운로드합니다.
ed2k-failed = 릴레이가 eD2k로 { $name }을(를) 가져오지 못했습니다: { $error }
ed2k-liars = 잘못된 부분을 보내 차단됨: { $peers }

## Payment channels (Wallet view)
ch-closed-idle = 유휴 채널 { $count }개를 닫았습니다.
ch-reclaiming = { $channel } 회수 중…
ch-reclaimed = { $tx }에서 { $channel }의 예치금을 회수했습니다
ch-reclaim-failed = { $channel } 회수 실패: { $error }
ch-closing = { $channel } 닫는 중…
ch-closed = { $tx }에서 { $channel }을(를) 닫았습니다
ch-close-failed = { $channel } 닫기 실패: { $error }
ch-title = 결제 채널
ch-lede = 방식 2: 판매자마다 예치금을 한 번 넣고, 검증된 조각마다 서명된 바우처를 보내므로 청크마다 트랜잭션이 필요 없습니다. 판매자는 가장 높은 바우처로 채널을 닫고, 남은 예치금은 같은 트랜잭션에서 돌려받습니다.
ch-on = 지금부터 시작하는 전송에 방식 2를 사용합니다.
ch-off = 방식 2 꺼짐: 다운로드가 끝난 뒤 피어에게 지불합니다(방식 1).
ch-enable = 지원하는 피어와 채널(방식 2)로 지불하고 받기
ch-paying = 내가 지불 중
ch-col-seller = 판매자
ch-col-deposit = 예치금
ch-col-paid = 지금까지 지불
ch-col-settles = 닫을 때 정산
ch-col-refund = 환불
ch-replaced = (교체됨)
ch-reclaim-title = 판매자가 채널을 닫지 않으면 { $time } 이후 예치금 전액이 돌아옵니다
ch-reclaim = 기한 후 회수
ch-paid-by = 나에게 지불 중
ch-col-payer = 지불자
ch-col-voucher = 최고 바우처
col-state = 상태
ch-open = 열림
ch-closed-tx = 닫힘 { $tx }
ch-close = 닫고 수령
ch-idle-label = 나에게 지불하는 채널이 이 시간(초) 동안 유휴 상태면 닫기 (0 = 수동으로만)
ch-idle-saved = 유휴 채널은 { $seconds }초 후에 닫힙니다.

## Wallet view and the payment box of a finished download
wallet-encrypting = 키 암호화 중 (PBKDF2, 600,000회)…
wallet-ready = 지갑 { $address } 준비 완료.
wallet-unlucky = 키가 적합하지 않습니다. 다시 시도하세요.
wallet-file-imported = 지갑 파일을 가져왔습니다. 암호 문구로 잠금을 해제하세요.
wallet-unlocking = 잠금 해제 중…
wallet-unlocked-status = 잠금 해제됨.
wallet-funded = 릴레이의 개발용 파우셋에서 테스트 ETH 10개를 받았습니다.
wallet-no-injected = 이 페이지에 브라우저 지갑(window.ethereum)이 없습니다.
wallet-injected-connected = 브라우저 지갑 { $address }이(가) 체인 98765에 연결되었습니다.
wallet-injected-refused = 브라우저 지갑이 거부했습니다: { $error }
wallet-price-set = 시드 가격을 MB당 { $price }(으)로 설정했습니다. 지금부터 공유하는 파일에 적용됩니다.
wallet-price-invalid = 가격은 0.001처럼 ETH 단위의 소수로 입력하세요.
wallet-unlock-to-pay = 지불하려면 지갑 잠금을 해제하거나 브라우저 지갑을 연결하세요.
pay-title = 결제
pay-col-seeder-wallet = 시더 지갑
pay-col-verified = 검증됨
col-amount = 금액
units-mb = { $n } MB
pay-ranges = 범위 { $count }개
pay-total = 합계
pay-one-tx = 시더마다 EIP-1559 트랜잭션 1건 · 체인 98765
pay-button = 지불
pay-confirmed = 블록 { $block }에서 확정, 가스 { $gas }
pay-failed = 실패: { $reason }
pay-tx = tx
pay-state-planned = 예정
pay-state-signed = 서명됨
pay-state-submitting = 제출 중
pay-state-sent = 전송됨
pay-state-confirmed = 확정됨
pay-state-failed = 실패
wallet-title = 지갑
wallet-lede = 체인 98765에서 시더에게 메가바이트 단위로 지불하고, 시드한 만큼 받으세요.
wallet-builtin = 내장 지갑
wallet-builtin-lede = 이 탭에서 만든 키를 이 브라우저에 암호화된 형태로만 보관합니다(AES-256-GCM, 암호 문구에서 PBKDF2로 키 생성).
wallet-passphrase-placeholder = 암호 문구 (8자 이상)
wallet-create = 지갑 만들기
wallet-import-summary = 개인 키 또는 지갑 파일 가져오기
wallet-import-placeholder = 0x… 개인 키 또는 내보낸 지갑 파일(JSON)
wallet-import = 가져오기
wallet-unlock = 잠금 해제
wallet-unlocked = 잠금 해제됨
wallet-export = 지갑 파일 내보내기
wallet-lock = 잠그기
wallet-balance = 잔액
wallet-browser = 브라우저 지갑
wallet-connect-browser = 브라우저 지갑 연결
wallet-use-browser = 브라우저 지갑으로 지불
wallet-price-title = 시드 가격
wallet-price-lede = 다운로드하는 사람이 이 페이지가 전달한 검증된 데이터 1MB당 지불하는 금액입니다(0 = 무료). 지갑 주소와 함께 피어에게 알립니다.
wallet-price-save = 저장 (MB당 ETH)
wallet-price-now = 현재 MB당 { $price }
wallet-payments-made = 지불 내역 (방식 1)
col-to = 받는 사람
col-transaction = 트랜잭션
wallet-earnings = 수익
wallet-from = 보낸 사람
wallet-block = 블록 { $block }

## Errors written by the page
hash-unreadable = “{ $name }”을(를) 읽을 수 없습니다({ $error }). 파일이 이동되었거나 삭제되었나요?
lib-cannot-open = 라이브러리를 열 수 없어 공유한 파일이 새로고침 후 유지되지 않습니다: { $error }
lib-record-skipped = 라이브러리 기록 하나를 건너뛰었습니다: { $error }
lib-cannot-read = 라이브러리를 읽을 수 없습니다: { $error }
lib-copy-not-deleted = 사본을 삭제하지 못했습니다: { $error }
lib-record-not-deleted = 라이브러리 기록을 삭제하지 못했습니다: { $error }
lib-stopped-but = { $name } 공유를 중지했지만, { $problems }
lib-stopped-while-copying = 사본을 쓰는 도중 공유가 중지되었습니다
ed2k-bad-magnet = 릴레이의 마그넷 링크를 읽을 수 없습니다
