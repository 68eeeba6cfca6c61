# Chiral's page in English. Keys are grouped by view; `units-*` are the units of numbers.
# A message's variables must be the same in every locale (tests/tests/i18n_keys.rs).

## Header and footer
page-title = Chiral · share files from your browser
nav-share = Share
nav-download = Download
nav-library = Library
nav-wallet = Wallet
nav-network = Network
locale-title = Language
footer = Files are hashed in this tab; nothing leaves your machine until you share it.

## Units
units-percent = { $n } %
units-b = { $n } B
units-kib = { $n } KiB
units-mib = { $n } MiB
units-gib = { $n } GiB
units-tib = { $n } TiB
units-mb-per-s = { $n } MB/s
units-kb-per-s = { $n } kB/s
units-seconds = { $s } s
units-min-s = { $min } min { $s } s
units-h-min = { $h } h { $min } min

## Shared words
save = Save
copy = Copy
remove = Remove

## Network view
net-connecting = connecting…
net-connected = connected
net-retrying = disconnected ({ $error }); retry #{ $attempt } in { $seconds } s
net-online = online
net-offline = offline
net-starting = starting…
net-title = Network
net-lede = This tab is a Kademlia node (client mode) reaching the DHT through its relay.
net-connection = Connection
net-relay = Relay
net-peer-id = This page's peer ID
net-connected-peers = Connected peers
net-routing-table = DHT routing table
net-routing-peers = { $count } peers

## NAT traversal card (Network view)
ice-none = none (only peers on the same network connect directly)
ice-title = NAT traversal
ice-lede = Browsers on different home networks reach each other through STUN (learning their public address) or, when no direct path exists, through a TURN relay.
ice-from-relay = From this relay:
ice-unavailable = unavailable ({ $error }); retrying
ice-asking = asking…
ice-own-servers = Your own servers, one a line:
ice-or = or
ice-saved = saved: { $count } server(s) of yours, used for new connections
copied = Copied ✓
copy-failed = Copy failed
passphrase = Passphrase

## Share view
share-need-passphrase = Enter a passphrase to encrypt, or untick “Encrypt”.
share-unreadable = The chosen file cannot be read: { $error }
share-picker-failed = The file picker failed: { $error }
share-title = Share a file
share-lede = Its content ID, BitTorrent magnet and ed2k link are computed right here, in your browser.
share-drop-title = Drop a file here, or click to choose one
share-drop-hint = Any size: it is read in slices and never held in memory whole.
share-pick-title = Chosen this way (or dropped), a file can seed again after a reload straight from your disk, without a copy
share-pick = Choose a file to keep seeding from disk…
share-encrypt = Encrypt first (AES-256-GCM, key from your passphrase)
share-hashing = Hashing
share-of = { $done } of { $total }
share-eta = ETA { $time }
share-chunks-of = { $count ->
        [one] chunk
       *[other] chunks
    } of 256 KiB
share-encrypted = encrypted
share-hashed-in = hashed in { $time } ({ $rate })
share-cid = Content ID
share-infohash = Infohash
share-magnet = Magnet
share-ed2k-link = ed2k link
share-merkle-root = Merkle root
publish-waiting = waiting for the network…
publish-publishing = publishing to the DHT…
publish-published = published to the DHT at { $time } · this tab seeds it while open
publish-relay-only = stored at the relay only (no other DHT peers yet)
publish-failed = publishing failed: { $error }
publish-label = Discovery
seed-encrypted = encrypted files are shared by their ciphertext, which this tab does not keep; seeding them arrives with relay storage
seed-not-seeded = not seeded: { $error }
seed-seeding = seeding from this tab · { $count ->
        [one] { $count } peer
       *[other] { $count } peers
    } · ↑ { $rate } · { $sent } sent
seed-label = Seeding

## Download view
dl-bad-cid = A content ID is 64 hexadecimal digits.
dl-not-connected = Not connected to the network yet; try again in a moment.
dl-title = Download
dl-auto-seed = Keep seeding finished downloads while this tab is open
dl-from = Download from
dl-who-has = Who has a file?
dl-who-has-lede = Every download starts with a DHT lookup: paste a content ID to see who has it.
dl-cid-placeholder = Content ID (64 hex digits)
dl-find = Find
dl-asking = Asking the DHT about
dl-nobody-before = Nobody in the DHT has{" "}
dl-nobody-after = {" "}right now.
dl-chunks = { $count ->
        [one] { $count } chunk
       *[other] { $count } chunks
    }
dl-conflicting = { $count } record(s) disagreed about this file and were left out.
dl-download = Download
dl-seeders = { $count ->
        [one] { $count } seeder
       *[other] { $count } seeders
    }
col-protocol = Protocol
col-peer = Peer
col-endpoint = Endpoint
col-price = Price
col-chunks = Chunks
dl-free = free
dl-price-per-mb = { $price } per MB
dl-have-of = { $have } of { $count } chunks
dl-no-usable-record = No DHT record for this file names a usable infohash and Merkle root.
dl-paste-hint = Paste a magnet link, an ed2k link or a content ID (64 hexadecimal digits).
dl-looking-up = Looking up { $cid } in the DHT…
dl-nobody = Nobody in the DHT has { $cid } right now.
dl-input-placeholder = Magnet link, ed2k link or content ID
sources-both = Browsers (WebRTC) and the relay (HTTP, BitTorrent bridge)
sources-webrtc = Browsers only (WebRTC)
sources-relay = The relay only (HTTP, BitTorrent bridge)

## Transfers (Download view)
tr-resume-failed = A stored download could not resume: { $error }
tr-start-failed = The download could not start: { $error }
tr-no-good-root = No copy the DHT offered is the file asked for ({ $count } claim(s) failed the content-ID check); nothing was saved or paid.
tr-save-failed = The file cannot be saved: { $error }
tr-folder-save-failed = The folder cannot be saved: { $error }
tr-delete-failed = Stored pieces could not be deleted: { $error }
tr-metadata = finding peers and the file's metadata…
tr-downloading = downloading · ETA { $time }
tr-verifying = verifying the whole file… { $percent }
tr-complete = complete
tr-seeding = seeding
tr-error = error: { $error }
tr-cid-matches = ✓ SHA-256 matches the content ID
tr-cid-mismatch = ✗ SHA-256 does not match the content ID
tr-pieces = { $have } / { $count } pieces
tr-peers = { $count ->
        [one] { $count } peer
       *[other] { $count } peers
    }
tr-banned = { $count } dropped for corrupt data
tr-kept-title = Pieces kept from a copy whose whole file failed the content ID, each re-checked against this root
tr-kept = { $count } pieces kept from a rejected copy
tr-check-title = How every piece is verified before it is kept
tr-check-both = pieces: SHA-1 + SHA-256
tr-check-waiting = waiting for chunk hashes…
tr-check-sha1 = pieces: SHA-1
col-client = Client
col-pieces = Pieces
tr-path-title = How this connection's packets travel: straight between the two browsers (through their NATs), or through the relay's TURN server
tr-refused = Nobody is paid for this copy: { $reason }. It is not saved or seeded, and the records that named it are dropped.
tr-save-file = Save file
tr-play = Play
tr-play-title = Play while it downloads: the pieces at the playhead come first
tr-stream-unavailable = Streaming is unavailable here: { $error }
tr-chunkmap-title = Which source delivered each chunk
tr-source-chunks = { $source } · { $count } chunks

## Library view
lib-title = Library
lib-lede = What this browser shares and has downloaded. Files you keep here seed again whenever this page is open, after a reload or a restart.
lib-uploaded = Uploaded
lib-upload-rate = Upload rate
lib-earned-title = Payments received by this wallet for files it seeded
lib-earned = Earned
lib-shared = Shared
lib-reading = reading the library…
lib-empty = Nothing kept yet. Share a file and choose “Keep seeding after reload”.
lib-downloaded = Downloaded
lib-no-downloads = No downloads in this browser.
lib-stopped = stopped: { $error }
lib-seeding-peers = seeding · { $count ->
        [one] { $count } peer
       *[other] { $count } peers
    }
lib-checking = checking the file…
lib-copying = copying into this browser… { $percent }
lib-needs-access = paused: the browser needs your permission to read the file again
lib-missing = missing: the file is gone
lib-changed = not seeded: the file changed ({ $error })
lib-location-title = Where the bytes are read from
lib-location-copy = copy in this browser
lib-location-disk = your file on disk
lib-uploaded-in-all = { $size } uploaded in all
lib-earned-file-title = Payments received for this file
lib-earned-amount = { $amount } earned
lib-added = added { $date }
lib-in-dht-since = in the DHT since { $time }
lib-in-dht-since-relay = in the DHT since { $time } (relay only)
lib-not-in-dht = not yet in the DHT
lib-forgot-permission = Your browser forgot its permission to read this file. Allow it again to resume seeding.
lib-regrant = Re-grant access to resume seeding { $name }
lib-stop-sharing = Stop sharing
lib-state-downloading = downloading
lib-state-verifying = verifying
lib-state-error = error
lib-uploaded-size = { $size } uploaded
lib-details = Details
keep-unavailable = Encrypted shares are not kept: the ciphertext is not on disk.
keep-offer = Keep seeding after reload: keep a copy in this browser's storage ({ $size })
keep-copying = copying into this browser's storage… { $percent }
keep-error = Not kept: { $error }
keep-kept-disk = In your library: it seeds again from your disk whenever this page is open.
keep-kept-copy = In your library: a copy in this browser seeds it whenever this page is open.
keep-open-library = Open the library
keep-label = After reload

## Sharing a folder (Share view) and a folder torrent's files (Download view)
folder-n-files = { $count ->
        [one] { $count } file
       *[other] { $count } files
    }
folder-title = Share a folder
folder-lede = Several files or a whole folder become one torrent (each file still gets its own content ID).
folder-choose-folder = Choose a folder…
folder-choose-files = Choose several files…
folder-hashing = Hashing { $count } files · { $done } of { $total }
folder-id-title = SHA-256 of the folder manifest: every file's path, size, CID and ed2k hash
folder-id = Folder ID
col-file = File
col-size = Size
col-progress = Progress
folder-seeding = Seeding from this tab while it is open (see Download for live numbers). Each file is also published on its own, found by its content ID:
folder-download-file = Download this file
folder-skipped = skipped
folder-files-chosen = { $count } files · { $chosen } chosen
folder-save-all = Save all to a folder…

## eD2k fetch by the relay (Download view)
ed2k-fetching = The relay is fetching { $name } from { $count } eD2k source(s): { $done } of { $total } verified
ed2k-done = The relay has { $name } (every part checked against its ed2k hashset); downloading it from the relay below.
ed2k-failed = The relay could not fetch { $name } over eD2k: { $error }
ed2k-liars = Dropped for sending bad parts: { $peers }

## Payment channels (Wallet view)
ch-closed-idle = Closed { $count } idle channel(s).
ch-reclaiming = Reclaiming { $channel }…
ch-reclaimed = Reclaimed the deposit of { $channel } in { $tx }
ch-reclaim-failed = Reclaiming { $channel } failed: { $error }
ch-closing = Closing { $channel }…
ch-closed = Closed { $channel } in { $tx }
ch-close-failed = Closing { $channel } failed: { $error }
ch-title = Payment channels
ch-lede = Style 2: one deposit per seller, then a signed voucher per verified piece, no transaction per chunk. The seller closes with the highest voucher; the rest of the deposit comes back in the same transaction.
ch-on = Style 2 on for transfers started from now.
ch-off = Style 2 off: peers are paid after the download (Style 1).
ch-enable = Pay and get paid through channels (Style 2) with peers that support it
ch-paying = Paying
ch-col-seller = Seller
ch-col-deposit = Deposit
ch-col-paid = Paid so far
ch-col-settles = Closing settles
ch-col-refund = Refund
ch-replaced = (replaced)
ch-reclaim-title = If the seller never closes it, the whole deposit comes back after { $time }
ch-reclaim = Reclaim after timeout
ch-paid-by = Paid by
ch-col-payer = Payer
ch-col-voucher = Highest voucher
col-state = State
ch-open = open
ch-closed-tx = closed { $tx }
ch-close = Close and collect
ch-idle-label = Close channels paying me after this many idle seconds (0 = only by hand)
ch-idle-saved = Idle channels close after { $seconds } s.

## Wallet view and the payment box of a finished download
wallet-encrypting = Encrypting the key (PBKDF2, 600,000 rounds)…
wallet-ready = Wallet { $address } is ready.
wallet-unlucky = Unlucky key; try again.
wallet-file-imported = Wallet file imported; unlock it with its passphrase.
wallet-unlocking = Unlocking…
wallet-unlocked-status = Unlocked.
wallet-funded = Funded with 10 test ETH by the relay's dev faucet.
wallet-no-injected = No browser wallet (window.ethereum) in this page.
wallet-injected-connected = Browser wallet { $address } connected on chain 98765.
wallet-injected-refused = The browser wallet refused: { $error }
wallet-price-set = Seeding price set to { $price } per MB; it applies to files shared from now on.
wallet-price-invalid = A price is a decimal amount of ETH, like 0.001.
wallet-unlock-to-pay = Unlock the wallet (or connect a browser wallet) to pay.
pay-title = Payment
pay-col-seeder-wallet = Seeder wallet
pay-col-verified = Verified
col-amount = Amount
units-mb = { $n } MB
pay-ranges = { $count } range(s)
pay-total = Total
pay-one-tx = one EIP-1559 transaction per seeder · chain 98765
pay-button = Pay
pay-confirmed = confirmed in block { $block }, { $gas } gas
pay-failed = failed: { $reason }
pay-tx = tx
pay-state-planned = planned
pay-state-signed = signed
pay-state-submitting = submitting
pay-state-sent = sent
pay-state-confirmed = confirmed
pay-state-failed = failed
wallet-title = Wallet
wallet-lede = Pay seeders per megabyte on chain 98765, and get paid for what you seed.
wallet-builtin = Built-in wallet
wallet-builtin-lede = A key made in this tab, kept only encrypted (AES-256-GCM, key from your passphrase by PBKDF2) in this browser.
wallet-passphrase-placeholder = Passphrase (8+ characters)
wallet-create = Create wallet
wallet-import-summary = Import a private key or a wallet file
wallet-import-placeholder = 0x… private key, or an exported wallet file (JSON)
wallet-import = Import
wallet-unlock = Unlock
wallet-unlocked = unlocked
wallet-export = Export wallet file
wallet-lock = Lock
wallet-balance = Balance
wallet-browser = Browser wallet
wallet-connect-browser = Connect browser wallet
wallet-use-browser = Pay with the browser wallet
wallet-price-title = Seeding price
wallet-price-lede = What downloaders pay this page per MB of verified data it delivers (0 = free). Announced to peers with your wallet address.
wallet-price-save = Save (ETH per MB)
wallet-price-now = now { $price } per MB
wallet-payments-made = Payments made (Style 1)
col-to = To
col-transaction = Transaction
wallet-earnings = Earnings
wallet-from = from
wallet-block = block { $block }

## Errors written by the page
hash-unreadable = “{ $name }” could not be read ({ $error }). Was it moved or deleted?
lib-cannot-open = The library cannot be opened, so shared files will not survive a reload: { $error }
lib-record-skipped = A library record was skipped: { $error }
lib-cannot-read = The library cannot be read: { $error }
lib-copy-not-deleted = the copy could not be deleted: { $error }
lib-record-not-deleted = the library record could not be deleted: { $error }
lib-stopped-but = Stopped sharing { $name }, but { $problems }
lib-stopped-while-copying = sharing was stopped while the copy was written
ed2k-bad-magnet = the relay's magnet is unreadable

## Dashboard and chain panel (Network view)
dash-title = Activity
dash-totals = downloaded { $down } · uploaded { $up }
dash-plot-label = Download and upload rate over the last 5 minutes
dash-five-minutes-ago = 5 min ago
dash-scale = top: { $rate }
dash-now = now
dash-peers-by-protocol = Peers by protocol
dash-no-peers = no peers connected
dash-network = Relay and DHT
dash-dht = DHT
dash-dht-state = connected peers: { $peers } · routing table: { $routing }
dash-dht-offline = not connected
dash-not-reported = not reported
chain-title = Chain
chain-loading = asking the chain…
chain-down = The chain cannot be reached: { $error }
chain-height = Block height
chain-block-time = Block time
chain-base-fee = Base fee
chain-gwei = { $n } gwei
chain-id = Chain ID
chain-network-id = Network ID
chain-client = Client
chain-mining = Mining
chain-mining-yes = yes
chain-mining-no = no
chain-hashrate = Hash rate
chain-hashes-per-s = { $n } H/s
col-score = Score
col-score-title = Reputation of this peer in this browser: 0 to 1, 0.5 for a stranger
tr-avoided = avoided
