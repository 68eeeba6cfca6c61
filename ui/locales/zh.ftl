# Chiral 页面（简体中文）。

## Header and footer
page-title = Chiral · 在浏览器中分享文件
nav-share = 分享
nav-download = 下载
nav-library = 资料库
nav-wallet = 钱包
nav-network = 网络
locale-title = 语言
footer = 文件在此标签页内计算哈希；在你分享之前，任何内容都不会离开你的设备。

## Units
units-percent = { $n }%
units-b = { $n } B
units-kib = { $n } KiB
units-mib = { $n } MiB
units-gib = { $n } GiB
units-tib = { $n } TiB
units-mb-per-s = { $n } MB/s
units-kb-per-s = { $n } kB/s
units-seconds = { $s } 秒
units-min-s = { $min } 分 { $s } 秒
units-h-min = { $h } 小时 { $min } 分

## Shared words
save = 保存
copy = 复制
remove = 移除

## Network view
net-connecting = 正在连接…
net-connected = 已连接
net-retrying = 已断开（{ $error }）；{ $seconds } 秒后第 { $attempt } 次重试
net-online = 在线
net-offline = 离线
net-starting = 正在启动…
net-title = 网络
net-lede = 此标签页是一个 Kademlia 节点（客户端模式），通过其中继服务器接入 DHT。
net-connection = 连接
net-relay = 中继
net-peer-id = 本页面的节点 ID
net-connected-peers = 已连接的节点
net-routing-table = DHT 路由表
net-routing-peers = { $count } 个节点

## NAT traversal card (Network view)
ice-none = 无（只有同一网络内的节点能直接连接）
ice-title = NAT 穿透
ice-lede = 位于不同家庭网络的浏览器通过 STUN（获知自己的公网地址）互相连接；没有直连路径时，则通过 TURN 中继。
ice-from-relay = 来自此中继：
ice-unavailable = 不可用（{ $error }）；正在重试
ice-asking = 正在询问…
ice-own-servers = 你自己的服务器，每行一个：
ice-or = 或
ice-saved = 已保存：你的 { $count } 个服务器，将用于新连接
copied = 已复制 ✓
copy-failed = 复制失败
passphrase = 密码短语

## Share view
share-need-passphrase = 请输入用于加密的密码短语，或取消勾选“加密”。
share-unreadable = 无法读取所选文件：{ $error }
share-picker-failed = 文件选择器出错：{ $error }
share-title = 分享文件
share-lede = 文件的内容 ID、BitTorrent 磁力链接和 ed2k 链接都在你的浏览器中就地计算。
share-drop-title = 将文件拖放到此处，或点击选择文件
share-drop-hint = 不限大小：文件分块读取，绝不会整个载入内存。
share-pick-title = 以此方式选择（或拖放）的文件，重新加载页面后可直接从磁盘继续做种，无需副本
share-pick = 选择文件并持续从磁盘做种…
share-encrypt = 先加密（AES-256-GCM，密钥由你的密码短语生成）
share-hashing = 正在计算哈希：
share-of = { $done } / { $total }
share-eta = 剩余时间 { $time }
share-chunks-of = { $count ->
       *[other] 个 256 KiB 的块
    }
share-encrypted = 已加密
share-hashed-in = 哈希耗时 { $time }（{ $rate }）
share-cid = 内容 ID
share-infohash = Infohash
share-magnet = 磁力链接
share-ed2k-link = ed2k 链接
share-merkle-root = Merkle 根
publish-waiting = 正在等待网络…
publish-publishing = 正在发布到 DHT…
publish-published = 已于 { $time } 发布到 DHT · 此标签页打开期间会为其做种
publish-relay-only = 仅存储在中继上（DHT 中暂无其他节点）
publish-failed = 发布失败：{ $error }
publish-label = 发现
seed-encrypted = 加密文件以密文形式分享，而此标签页不保存密文；中继存储功能推出后才能为其做种
seed-not-seeded = 未做种：{ $error }
seed-seeding = 正在从此标签页做种 · { $count } 个节点 · ↑ { $rate } · 已发送 { $sent }
seed-label = 做种

## Download view
dl-bad-cid = 内容 ID 由 64 个十六进制数字组成。
dl-not-connected = 尚未连接到网络，请稍后再试。
dl-title = 下载
dl-auto-seed = 在此标签页打开期间，继续为已完成的下载做种
dl-from = 下载来源
dl-who-has = 谁有这个文件？
dl-who-has-lede = 每次下载都从 DHT 查询开始：粘贴一个内容 ID，看看谁拥有它。
dl-cid-placeholder = 内容 ID（64 个十六进制数字）
dl-find = 查找
dl-asking = 正在向 DHT 查询
dl-nobody-before = DHT 中目前没有人拥有{" "}
dl-nobody-after = 。
dl-chunks = { $count } 个块
dl-conflicting = 有 { $count } 条记录对此文件的描述不一致，已被排除。
dl-download = 下载
dl-seeders = { $count } 个做种者
col-protocol = 协议
col-peer = 节点
col-endpoint = 端点
col-price = 价格
col-chunks = 块
dl-free = 免费
dl-price-per-mb = 每 MB { $price }
dl-have-of = 拥有 { $have } / { $count } 个块
dl-no-usable-record = 此文件的 DHT 记录中没有可用的 infohash 和 Merkle 根。
dl-paste-hint = 请粘贴磁力链接、ed2k 链接或内容 ID（64 个十六进制数字）。
dl-looking-up = 正在 DHT 中查找 { $cid }…
dl-nobody = DHT 中目前没有人拥有 { $cid }。
dl-input-placeholder = 磁力链接、ed2k 链接或内容 ID
sources-both = 浏览器（WebRTC）和中继（HTTP、BitTorrent 桥接）
sources-webrtc = 仅浏览器（WebRTC）
sources-relay = 仅中继（HTTP、BitTorrent 桥接）

## Transfers (Download view)
tr-resume-failed = 无法恢复已保存的下载：{ $error }
tr-start-failed = 无法开始下载：{ $error }
tr-no-good-root = DHT 提供的副本都不是所请求的文件（{ $count } 个声明未通过内容 ID 校验）；未保存也未支付任何内容。
tr-save-failed = 无法保存文件：{ $error }
tr-folder-save-failed = 无法保存文件夹：{ $error }
tr-delete-failed = 无法删除已存储的分片：{ $error }
tr-metadata = 正在寻找节点和文件元数据…
tr-downloading = 正在下载 · 剩余 { $time }
tr-verifying = 正在校验整个文件… { $percent }
tr-complete = 已完成
tr-seeding = 正在做种
tr-error = 错误：{ $error }
tr-cid-matches = ✓ SHA-256 与内容 ID 一致
tr-cid-mismatch = ✗ SHA-256 与内容 ID 不一致
tr-pieces = { $have } / { $count } 个分片
tr-peers = { $count } 个节点
tr-banned = { $count } 个因数据损坏被断开
tr-kept-title = 从一个整体未通过内容 ID 校验的副本中保留的分片，每个都已按此根重新校验
tr-kept = 从被拒绝的副本中保留了 { $count } 个分片
tr-check-title = 每个分片在保存前的校验方式
tr-check-both = 分片：SHA-1 + SHA-256
tr-check-waiting = 正在等待块哈希…
tr-check-sha1 = 分片：SHA-1
col-client = 客户端
col-pieces = 分片
tr-path-title = 此连接的数据包如何传输：在两个浏览器之间直连（穿过各自的 NAT），或经由中继的 TURN 服务器
tr-refused = 此副本不向任何人付款：{ $reason }。它不会被保存或做种，指向它的记录也已丢弃。
tr-save-file = 保存文件
tr-play = 播放
tr-play-title = 边下载边播放：优先获取播放位置附近的分块
tr-stream-unavailable = 此处无法流式播放：{ $error }
tr-chunkmap-title = 每个块由哪个来源提供
tr-source-chunks = { $source } · { $count } 个块

## Library view
lib-title = 资料库
lib-lede = 此浏览器分享和下载的内容。保存在这里的文件，每当此页面打开时（包括重新加载或重启之后）都会重新做种。
lib-uploaded = 已上传
lib-upload-rate = 上传速度
lib-earned-title = 此钱包因做种文件而收到的付款
lib-earned = 收入
lib-shared = 已分享
lib-reading = 正在读取资料库…
lib-empty = 还没有保存任何内容。分享一个文件并选择“重新加载后继续做种”。
lib-downloaded = 已下载
lib-no-downloads = 此浏览器中没有下载。
lib-stopped = 已停止：{ $error }
lib-seeding-peers = 正在做种 · { $count } 个节点
lib-checking = 正在检查文件…
lib-copying = 正在复制到此浏览器… { $percent }
lib-needs-access = 已暂停：浏览器需要你再次授权读取该文件
lib-missing = 缺失：文件已不存在
lib-changed = 未做种：文件已更改（{ $error }）
lib-location-title = 数据从哪里读取
lib-location-copy = 此浏览器中的副本
lib-location-disk = 你磁盘上的文件
lib-uploaded-in-all = 累计上传 { $size }
lib-earned-file-title = 此文件收到的付款
lib-earned-amount = 收入 { $amount }
lib-added = 添加于 { $date }
lib-in-dht-since = 自 { $time } 起在 DHT 中
lib-in-dht-since-relay = 自 { $time } 起在 DHT 中（仅中继）
lib-not-in-dht = 尚未进入 DHT
lib-forgot-permission = 你的浏览器已忘记读取此文件的权限。请重新授权以恢复做种。
lib-regrant = 重新授权以继续为 { $name } 做种
lib-stop-sharing = 停止分享
lib-state-downloading = 正在下载
lib-state-verifying = 正在校验
lib-state-error = 错误
lib-uploaded-size = 已上传 { $size }
lib-details = 详情
keep-unavailable = 加密分享不会被保存：密文不在磁盘上。
keep-offer = 重新加载后继续做种：在此浏览器的存储中保留一份副本（{ $size }）
keep-copying = 正在复制到此浏览器的存储… { $percent }
keep-error = 未保存：{ $error }
keep-kept-disk = 已在你的资料库中：每当此页面打开时，都会从你的磁盘重新做种。
keep-kept-copy = 已在你的资料库中：每当此页面打开时，此浏览器中的副本都会为其做种。
keep-open-library = 打开资料库
keep-label = 重新加载后

## Sharing a folder (Share view) and a folder torrent's files (Download view)
folder-n-files = { $count } 个文件
folder-title = 分享文件夹
folder-lede = 多个文件或整个文件夹会合成一个种子（每个文件仍有自己的内容 ID）。
folder-choose-folder = 选择文件夹…
folder-choose-files = 选择多个文件…
folder-hashing = 正在计算 { $count } 个文件的哈希 · { $done } / { $total }
folder-id-title = 文件夹清单的 SHA-256：包含每个文件的路径、大小、CID 和 ed2k 哈希
folder-id = 文件夹 ID
col-file = 文件
col-size = 大小
col-progress = 进度
folder-seeding = 此标签页打开期间持续做种（实时数据见“下载”）。每个文件也会单独发布，可通过其内容 ID 找到：
folder-download-file = 下载此文件
folder-skipped = 已跳过
folder-files-chosen = { $count } 个文件 · 已选 { $chosen } 个
folder-save-all = 全部保存到文件夹…

## eD2k fetch by the relay (Download view)
ed2k-fetching = 中继正在从 { $count } 个 eD2k 来源获取 { $name }：已校验 { $done } / { $total }
ed2k-done = 中继已获得 { $name }（每个部分都已按其 ed2k 哈希集校验）；正在从下方的中继下载。
ed2k-failed = 中继无法通过 eD2k 获取 { $name }：{ $error }
ed2k-liars = 因发送错误数据而被断开：{ $peers }

## Payment channels (Wallet view)
ch-closed-idle = 已关闭 { $count } 个空闲通道。
ch-reclaiming = 正在取回 { $channel }…
ch-reclaimed = 已在 { $tx } 中取回 { $channel } 的押金
ch-reclaim-failed = 取回 { $channel } 失败：{ $error }
ch-closing = 正在关闭 { $channel }…
ch-closed = 已在 { $tx } 中关闭 { $channel }
ch-close-failed = 关闭 { $channel } 失败：{ $error }
ch-title = 支付通道
ch-lede = 方式 2：每个卖家只需一笔押金，之后每个已校验的分片对应一张签名凭证，无需为每个块发起交易。卖家用最高的凭证关闭通道；剩余押金在同一笔交易中退回。
ch-on = 方式 2 已对此后开始的传输启用。
ch-off = 方式 2 已关闭：下载完成后再向节点付款（方式 1）。
ch-enable = 与支持的节点通过通道付款和收款（方式 2）
ch-paying = 我付款的
ch-col-seller = 卖家
ch-col-deposit = 押金
ch-col-paid = 已付金额
ch-col-settles = 关闭时结算
ch-col-refund = 退款
ch-replaced = （已替换）
ch-reclaim-title = 如果卖家一直不关闭，整笔押金将在 { $time } 之后退回
ch-reclaim = 超时后取回
ch-paid-by = 向我付款的
ch-col-payer = 付款人
ch-col-voucher = 最高凭证
col-state = 状态
ch-open = 开启
ch-closed-tx = 已关闭 { $tx }
ch-close = 关闭并收款
ch-idle-label = 向我付款的通道空闲多少秒后关闭（0 = 仅手动关闭）
ch-idle-saved = 空闲通道将在 { $seconds } 秒后关闭。

## Wallet view and the payment box of a finished download
wallet-encrypting = 正在加密密钥（PBKDF2，600,000 轮）…
wallet-ready = 钱包 { $address } 已就绪。
wallet-unlucky = 密钥不合适，请重试。
wallet-file-imported = 钱包文件已导入；请用其密码短语解锁。
wallet-unlocking = 正在解锁…
wallet-unlocked-status = 已解锁。
wallet-funded = 中继的开发水龙头已为你充值 10 个测试 ETH。
wallet-no-injected = 此页面中没有浏览器钱包（window.ethereum）。
wallet-injected-connected = 浏览器钱包 { $address } 已连接到链 98765。
wallet-injected-refused = 浏览器钱包拒绝了请求：{ $error }
wallet-price-set = 做种价格已设为每 MB { $price }；适用于此后分享的文件。
wallet-price-invalid = 价格是以 ETH 计的十进制数，例如 0.001。
wallet-unlock-to-pay = 请解锁钱包（或连接浏览器钱包）后付款。
pay-title = 付款
pay-col-seeder-wallet = 做种者钱包
pay-col-verified = 已校验
col-amount = 金额
units-mb = { $n } MB
pay-ranges = { $count } 个区间
pay-total = 合计
pay-one-tx = 每个做种者一笔 EIP-1559 交易 · 链 98765
pay-button = 支付
pay-confirmed = 已在区块 { $block } 中确认，消耗 { $gas } gas
pay-failed = 失败：{ $reason }
pay-tx = 交易
pay-state-planned = 已计划
pay-state-signed = 已签名
pay-state-submitting = 正在提交
pay-state-sent = 已发送
pay-state-confirmed = 已确认
pay-state-failed = 失败
wallet-title = 钱包
wallet-lede = 在链 98765 上按兆字节向做种者付款，也为你做种的内容收款。
wallet-builtin = 内置钱包
wallet-builtin-lede = 密钥在此标签页中生成，仅以加密形式（AES-256-GCM，密钥由你的密码短语经 PBKDF2 生成）保存在此浏览器中。
wallet-passphrase-placeholder = 密码短语（至少 8 个字符）
wallet-create = 创建钱包
wallet-import-summary = 导入私钥或钱包文件
wallet-import-placeholder = 0x… 私钥，或导出的钱包文件（JSON）
wallet-import = 导入
wallet-unlock = 解锁
wallet-unlocked = 已解锁
wallet-export = 导出钱包文件
wallet-lock = 锁定
wallet-balance = 余额
wallet-browser = 浏览器钱包
wallet-connect-browser = 连接浏览器钱包
wallet-use-browser = 使用浏览器钱包付款
wallet-price-title = 做种价格
wallet-price-lede = 下载者为此页面交付的每 MB 已校验数据支付的费用（0 = 免费）。会连同你的钱包地址一起告知其他节点。
wallet-price-save = 保存（每 MB 的 ETH）
wallet-price-now = 当前每 MB { $price }
wallet-payments-made = 已付款项（方式 1）
col-to = 收款方
col-transaction = 交易
wallet-earnings = 收入
wallet-from = 来自
wallet-block = 区块 { $block }

## Errors written by the page
hash-unreadable = 无法读取“{ $name }”（{ $error }）。文件是否已被移动或删除？
lib-cannot-open = 无法打开资料库，因此分享的文件在重新加载后将不会保留：{ $error }
lib-record-skipped = 已跳过一条资料库记录：{ $error }
lib-cannot-read = 无法读取资料库：{ $error }
lib-copy-not-deleted = 无法删除副本：{ $error }
lib-record-not-deleted = 无法删除资料库记录：{ $error }
lib-stopped-but = 已停止分享 { $name }，但{ $problems }
lib-stopped-while-copying = 写入副本时分享已被停止
ed2k-bad-magnet = 无法读取中继的磁力链接
