# Страница Chiral на русском.

## Header and footer
page-title = Chiral · делитесь файлами прямо из браузера
nav-share = Поделиться
nav-download = Скачать
nav-library = Библиотека
nav-wallet = Кошелёк
nav-network = Сеть
locale-title = Язык
footer = Хеши файлов вычисляются в этой вкладке; ничего не покидает ваш компьютер, пока вы сами не поделитесь.

## Units
units-percent = { $n } %
units-b = { $n } Б
units-kib = { $n } КиБ
units-mib = { $n } МиБ
units-gib = { $n } ГиБ
units-tib = { $n } ТиБ
units-mb-per-s = { $n } МБ/с
units-kb-per-s = { $n } кБ/с
units-seconds = { $s } с
units-min-s = { $min } мин { $s } с
units-h-min = { $h } ч { $min } мин

## Shared words
save = Сохранить
copy = Копировать
remove = Удалить

## Network view
net-connecting = подключение…
net-connected = подключено
net-retrying = отключено ({ $error }); попытка №{ $attempt } через { $seconds } с
net-online = в сети
net-offline = не в сети
net-starting = запуск…
net-title = Сеть
net-lede = Эта вкладка — узел Kademlia (в режиме клиента), который обращается к DHT через свой ретранслятор.
net-connection = Соединение
net-relay = Ретранслятор
net-peer-id = ID пира этой страницы
net-connected-peers = Подключённые пиры
net-routing-table = Таблица маршрутизации DHT
net-routing-peers = { $count ->
        [one] { $count } пир
        [few] { $count } пира
       *[many] { $count } пиров
    }

## NAT traversal card (Network view)
ice-none = нет (напрямую соединяются только пиры из одной сети)
ice-title = Обход NAT
ice-lede = Браузеры из разных домашних сетей находят друг друга через STUN (узнавая свой публичный адрес) или, если прямого пути нет, через ретранслятор TURN.
ice-from-relay = От этого ретранслятора:
ice-unavailable = недоступно ({ $error }); повторяем
ice-asking = запрашиваем…
ice-own-servers = Ваши собственные серверы, по одному в строке:
ice-or = или
ice-saved = сохранено: ваших серверов — { $count }; они используются для новых соединений
copied = Скопировано ✓
copy-failed = Не удалось скопировать
passphrase = Парольная фраза

## Share view
share-need-passphrase = Введите парольную фразу для шифрования или снимите флажок «Зашифровать».
share-unreadable = Не удаётся прочитать выбранный файл: { $error }
share-picker-failed = Ошибка окна выбора файла: { $error }
share-title = Поделиться файлом
share-lede = Его ID содержимого, magnet-ссылка BitTorrent и ссылка ed2k вычисляются прямо здесь, в вашем браузере.
share-drop-title = Перетащите файл сюда или нажмите, чтобы выбрать
share-drop-hint = Любого размера: файл читается по частям и никогда не загружается в память целиком.
share-pick-title = Файл, выбранный так (или перетащенный), после перезагрузки снова раздаётся прямо с вашего диска, без копии
share-pick = Выбрать файл для раздачи с диска…
share-encrypt = Сначала зашифровать (AES-256-GCM, ключ из вашей парольной фразы)
share-hashing = Вычисляем хеш:
share-of = { $done } из { $total }
share-eta = Осталось: { $time }
share-chunks-of = { $count ->
        [one] блок
        [few] блока
       *[many] блоков
    } по 256 КиБ
share-encrypted = зашифрован
share-hashed-in = хеш вычислен за { $time } ({ $rate })
share-cid = ID содержимого
share-infohash = Infohash
share-magnet = Magnet
share-ed2k-link = Ссылка ed2k
share-merkle-root = Корень Меркла
publish-waiting = ожидание сети…
publish-publishing = публикация в DHT…
publish-published = опубликовано в DHT в { $time } · эта вкладка раздаёт файл, пока открыта
publish-relay-only = сохранено только на ретрансляторе (других пиров в DHT пока нет)
publish-failed = не удалось опубликовать: { $error }
publish-label = Обнаружение
seed-encrypted = зашифрованные файлы раздаются в виде шифротекста, который эта вкладка не хранит; их раздача появится вместе с хранилищем на ретрансляторе
seed-not-seeded = не раздаётся: { $error }
seed-seeding = раздаётся из этой вкладки · { $count ->
        [one] { $count } пир
        [few] { $count } пира
       *[many] { $count } пиров
    } · ↑ { $rate } · отправлено { $sent }
seed-label = Раздача

## Download view
dl-bad-cid = ID содержимого — это 64 шестнадцатеричные цифры.
dl-not-connected = Подключения к сети ещё нет; попробуйте чуть позже.
dl-title = Скачать
dl-auto-seed = Продолжать раздавать скачанные файлы, пока эта вкладка открыта
dl-from = Скачивать из:
dl-who-has = У кого есть файл?
dl-who-has-lede = Любая загрузка начинается с поиска в DHT: вставьте ID содержимого, чтобы узнать, у кого он есть.
dl-cid-placeholder = ID содержимого (64 шестнадцатеричные цифры)
dl-find = Найти
dl-asking = Спрашиваем DHT о
dl-nobody-before = Сейчас ни у кого в DHT нет{" "}
dl-nobody-after = .
dl-chunks = { $count ->
        [one] { $count } блок
        [few] { $count } блока
       *[many] { $count } блоков
    }
dl-conflicting = Записей с расхождениями об этом файле: { $count }; они не учтены.
dl-download = Скачать
dl-seeders = { $count ->
        [one] { $count } сид
        [few] { $count } сида
       *[many] { $count } сидов
    }
col-protocol = Протокол
col-peer = Пир
col-endpoint = Адрес
col-price = Цена
col-chunks = Блоки
dl-free = бесплатно
dl-price-per-mb = { $price } за МБ
dl-have-of = { $have } из { $count } блоков
dl-no-usable-record = Ни одна запись DHT об этом файле не содержит пригодных infohash и корня Меркла.
dl-paste-hint = Вставьте magnet-ссылку, ссылку ed2k или ID содержимого (64 шестнадцатеричные цифры).
dl-looking-up = Ищем { $cid } в DHT…
dl-nobody = Сейчас ни у кого в DHT нет { $cid }.
dl-input-placeholder = Magnet-ссылка, ссылка ed2k или ID содержимого
sources-both = Браузеры (WebRTC) и ретранслятор (HTTP, мост BitTorrent)
sources-webrtc = Только браузеры (WebRTC)
sources-relay = Только ретранслятор (HTTP, мост BitTorrent)

## Transfers (Download view)
tr-resume-failed = Не удалось возобновить сохранённую загрузку: { $error }
tr-start-failed = Не удалось начать загрузку: { $error }
tr-no-good-root = Ни одна копия из DHT не является запрошенным файлом (не прошли проверку ID содержимого: { $count }); ничего не сохранено и не оплачено.
tr-save-failed = Не удаётся сохранить файл: { $error }
tr-folder-save-failed = Не удаётся сохранить папку: { $error }
tr-delete-failed = Не удалось удалить сохранённые части: { $error }
tr-metadata = поиск пиров и метаданных файла…
tr-downloading = загрузка · осталось { $time }
tr-verifying = проверка всего файла… { $percent }
tr-complete = готово
tr-seeding = раздаётся
tr-error = ошибка: { $error }
tr-cid-matches = ✓ SHA-256 совпадает с ID содержимого
tr-cid-mismatch = ✗ SHA-256 не совпадает с ID содержимого
tr-pieces = частей: { $have } / { $count }
tr-peers = { $count ->
        [one] { $count } пир
        [few] { $count } пира
       *[many] { $count } пиров
    }
tr-banned = отключено за повреждённые данные: { $count }
tr-kept-title = Части, сохранённые из копии, весь файл которой не прошёл проверку ID содержимого; каждая заново проверена по этому корню
tr-kept = частей сохранено из отклонённой копии: { $count }
tr-check-title = Как проверяется каждая часть перед сохранением
tr-check-both = части: SHA-1 + SHA-256
tr-check-waiting = ожидание хешей блоков…
tr-check-sha1 = части: SHA-1
col-client = Клиент
col-pieces = Части
tr-path-title = Как идут пакеты этого соединения: напрямую между двумя браузерами (через их NAT) или через TURN-сервер ретранслятора
tr-refused = За эту копию никто не получит оплату: { $reason }. Она не сохраняется и не раздаётся, а записи, которые на неё указывали, отброшены.
tr-save-file = Сохранить файл
tr-play = Воспроизвести
tr-play-title = Воспроизводить во время загрузки: сначала загружаются части у позиции воспроизведения
tr-stream-unavailable = Потоковое воспроизведение здесь недоступно: { $error }
tr-chunkmap-title = Какой источник прислал каждый блок
tr-source-chunks = { $source } · блоков: { $count }

## Library view
lib-title = Библиотека
lib-lede = Что этот браузер раздаёт и скачал. Файлы, оставленные здесь, снова раздаются всякий раз, когда открыта эта страница, — после перезагрузки или перезапуска.
lib-uploaded = Отдано
lib-upload-rate = Скорость отдачи
lib-earned-title = Платежи, полученные этим кошельком за раздачу файлов
lib-earned = Заработано
lib-shared = Раздаваемые
lib-reading = чтение библиотеки…
lib-empty = Пока ничего не сохранено. Поделитесь файлом и выберите «Раздавать после перезагрузки».
lib-downloaded = Скачанные
lib-no-downloads = В этом браузере нет загрузок.
lib-stopped = остановлено: { $error }
lib-seeding-peers = раздаётся · { $count ->
        [one] { $count } пир
        [few] { $count } пира
       *[many] { $count } пиров
    }
lib-checking = проверка файла…
lib-copying = копирование в этот браузер… { $percent }
lib-needs-access = приостановлено: браузеру нужно ваше разрешение, чтобы снова прочитать файл
lib-missing = отсутствует: файла больше нет
lib-changed = не раздаётся: файл изменился ({ $error })
lib-location-title = Откуда читаются данные
lib-location-copy = копия в этом браузере
lib-location-disk = ваш файл на диске
lib-uploaded-in-all = всего отдано { $size }
lib-earned-file-title = Платежи, полученные за этот файл
lib-earned-amount = заработано { $amount }
lib-added = добавлен { $date }
lib-in-dht-since = в DHT с { $time }
lib-in-dht-since-relay = в DHT с { $time } (только ретранслятор)
lib-not-in-dht = ещё не в DHT
lib-forgot-permission = Браузер забыл разрешение на чтение этого файла. Разрешите снова, чтобы возобновить раздачу.
lib-regrant = Снова дать доступ, чтобы раздавать { $name }
lib-stop-sharing = Прекратить раздачу
lib-state-downloading = загрузка
lib-state-verifying = проверка
lib-state-error = ошибка
lib-uploaded-size = отдано { $size }
lib-details = Подробнее
keep-unavailable = Зашифрованные файлы не сохраняются: шифротекста нет на диске.
keep-offer = Раздавать после перезагрузки: сохранить копию в хранилище этого браузера ({ $size })
keep-copying = копирование в хранилище этого браузера… { $percent }
keep-error = Не сохранено: { $error }
keep-kept-disk = В вашей библиотеке: файл снова раздаётся с вашего диска, когда открыта эта страница.
keep-kept-copy = В вашей библиотеке: копия в этом браузере раздаётся, когда открыта эта страница.
keep-open-library = Открыть библиотеку
keep-label = После перезагрузки

## Sharing a folder (Share view) and a folder torrent's files (Download view)
folder-n-files = { $count ->
        [one] { $count } файл
        [few] { $count } файла
       *[many] { $count } файлов
    }
folder-title = Поделиться папкой
folder-lede = Несколько файлов или целая папка становятся одним торрентом (у каждого файла остаётся свой ID содержимого).
folder-choose-folder = Выбрать папку…
folder-choose-files = Выбрать несколько файлов…
folder-hashing = Вычисляем хеши файлов ({ $count }) · { $done } из { $total }
folder-id-title = SHA-256 манифеста папки: путь, размер, CID и хеш ed2k каждого файла
folder-id = ID папки
col-file = Файл
col-size = Размер
col-progress = Прогресс
folder-seeding = Раздаётся из этой вкладки, пока она открыта (текущие показатели — в разделе «Скачать»). Каждый файл также публикуется отдельно и находится по своему ID содержимого:
folder-download-file = Скачать этот файл
folder-skipped = пропущен
folder-files-chosen = файлов: { $count } · выбрано: { $chosen }
folder-save-all = Сохранить всё в папку…

## eD2k fetch by the relay (Download view)
ed2k-fetching = Ретранслятор получает { $name } из источников eD2k ({ $count }): проверено { $done } из { $total }
ed2k-done = Файл { $name } есть на ретрансляторе (каждая часть сверена с его набором хешей ed2k); загрузка с ретранслятора — ниже.
ed2k-failed = Ретранслятору не удалось получить { $name } через eD2k: { $error }
ed2k-liars = Отключены за отправку испорченных частей: { $peers }

## Payment channels (Wallet view)
ch-closed-idle = Закрыто неактивных каналов: { $count }.
ch-reclaiming = Возвращаем { $channel }…
ch-reclaimed = Депозит { $channel } возвращён в { $tx }
ch-reclaim-failed = Не удалось вернуть { $channel }: { $error }
ch-closing = Закрываем { $channel }…
ch-closed = { $channel } закрыт в { $tx }
ch-close-failed = Не удалось закрыть { $channel }: { $error }
ch-title = Платёжные каналы
ch-lede = Способ 2: один депозит на продавца, затем подписанный ваучер за каждую проверенную часть, без транзакции на каждый блок. Продавец закрывает канал по наибольшему ваучеру; остаток депозита возвращается в той же транзакции.
ch-on = Способ 2 включён для передач, начатых с этого момента.
ch-off = Способ 2 выключен: пирам платят после загрузки (способ 1).
ch-enable = Платить и получать оплату через каналы (способ 2) с пирами, которые это поддерживают
ch-paying = Я плачу
ch-col-seller = Продавец
ch-col-deposit = Депозит
ch-col-paid = Уже оплачено
ch-col-settles = При закрытии
ch-col-refund = Возврат
ch-replaced = (заменён)
ch-reclaim-title = Если продавец так и не закроет канал, весь депозит вернётся после { $time }
ch-reclaim = Вернуть по истечении срока
ch-paid-by = Мне платят
ch-col-payer = Плательщик
ch-col-voucher = Наибольший ваучер
col-state = Состояние
ch-open = открыт
ch-closed-tx = закрыт { $tx }
ch-close = Закрыть и получить
ch-idle-label = Закрывать каналы, по которым мне платят, после стольких секунд простоя (0 = только вручную)
ch-idle-saved = Неактивные каналы закрываются через { $seconds } с.

## Wallet view and the payment box of a finished download
wallet-encrypting = Шифруем ключ (PBKDF2, 600 000 раундов)…
wallet-ready = Кошелёк { $address } готов.
wallet-unlucky = Неудачный ключ; попробуйте ещё раз.
wallet-file-imported = Файл кошелька импортирован; разблокируйте его парольной фразой.
wallet-unlocking = Разблокировка…
wallet-unlocked-status = Разблокирован.
wallet-funded = Тестовый кран ретранслятора начислил 10 тестовых ETH.
wallet-no-injected = На этой странице нет браузерного кошелька (window.ethereum).
wallet-injected-connected = Браузерный кошелёк { $address } подключён к сети 98765.
wallet-injected-refused = Браузерный кошелёк отказал: { $error }
wallet-price-set = Цена раздачи: { $price } за МБ; она действует для файлов, которыми вы поделитесь с этого момента.
wallet-price-invalid = Цена — это десятичное количество ETH, например 0.001.
wallet-unlock-to-pay = Чтобы заплатить, разблокируйте кошелёк (или подключите браузерный).
pay-title = Оплата
pay-col-seeder-wallet = Кошелёк сида
pay-col-verified = Проверено
col-amount = Сумма
units-mb = { $n } МБ
pay-ranges = диапазонов: { $count }
pay-total = Итого
pay-one-tx = одна транзакция EIP-1559 на сида · сеть 98765
pay-button = Оплатить
pay-confirmed = подтверждено в блоке { $block }, газ: { $gas }
pay-failed = ошибка: { $reason }
pay-tx = tx
pay-state-planned = запланирован
pay-state-signed = подписан
pay-state-submitting = отправляется
pay-state-sent = отправлен
pay-state-confirmed = подтверждён
pay-state-failed = ошибка
wallet-title = Кошелёк
wallet-lede = Платите сидам за мегабайт в сети 98765 и получайте оплату за то, что раздаёте.
wallet-builtin = Встроенный кошелёк
wallet-builtin-lede = Ключ создаётся в этой вкладке и хранится в этом браузере только в зашифрованном виде (AES-256-GCM, ключ из вашей парольной фразы через PBKDF2).
wallet-passphrase-placeholder = Парольная фраза (от 8 символов)
wallet-create = Создать кошелёк
wallet-import-summary = Импортировать закрытый ключ или файл кошелька
wallet-import-placeholder = Закрытый ключ 0x… или экспортированный файл кошелька (JSON)
wallet-import = Импортировать
wallet-unlock = Разблокировать
wallet-unlocked = разблокирован
wallet-export = Экспортировать файл кошелька
wallet-lock = Заблокировать
wallet-balance = Баланс
wallet-browser = Браузерный кошелёк
wallet-connect-browser = Подключить браузерный кошелёк
wallet-use-browser = Платить браузерным кошельком
wallet-price-title = Цена раздачи
wallet-price-lede = Сколько скачивающие платят этой странице за каждый МБ проверенных данных (0 = бесплатно). Сообщается пирам вместе с адресом вашего кошелька.
wallet-price-save = Сохранить (ETH за МБ)
wallet-price-now = сейчас { $price } за МБ
wallet-payments-made = Совершённые платежи (способ 1)
col-to = Кому
col-transaction = Транзакция
wallet-earnings = Доходы
wallet-from = от
wallet-block = блок { $block }

## Errors written by the page
hash-unreadable = Не удалось прочитать «{ $name }» ({ $error }). Возможно, файл перемещён или удалён?
lib-cannot-open = Не удаётся открыть библиотеку, поэтому общие файлы не сохранятся после перезагрузки: { $error }
lib-record-skipped = Запись библиотеки пропущена: { $error }
lib-cannot-read = Не удаётся прочитать библиотеку: { $error }
lib-copy-not-deleted = не удалось удалить копию: { $error }
lib-record-not-deleted = не удалось удалить запись библиотеки: { $error }
lib-stopped-but = Раздача { $name } прекращена, но { $problems }
lib-stopped-while-copying = раздачу остановили во время записи копии
ed2k-bad-magnet = magnet-ссылка ретранслятора не читается

## Панель активности и блокчейна (вид «Сеть»)
dash-title = Активность
dash-totals = скачано { $down } · отдано { $up }
dash-plot-label = Скорость загрузки и отдачи за последние 5 минут
dash-five-minutes-ago = 5 мин назад
dash-scale = максимум: { $rate }
dash-now = сейчас
dash-peers-by-protocol = Пиры по протоколам
dash-no-peers = нет подключённых пиров
dash-network = Ретранслятор и DHT
dash-dht = DHT
dash-dht-state = подключённые пиры: { $peers } · таблица маршрутизации: { $routing }
dash-dht-offline = не подключено
dash-not-reported = не сообщается
chain-title = Блокчейн
chain-loading = запрос к блокчейну…
chain-down = Блокчейн недоступен: { $error }
chain-height = Высота блока
chain-block-time = Время блока
chain-base-fee = Базовая комиссия
chain-gwei = { $n } gwei
chain-id = ID цепи
chain-network-id = ID сети
chain-client = Клиент
chain-mining = Майнинг
chain-mining-yes = да
chain-mining-no = нет
chain-hashrate = Хешрейт
chain-hashes-per-s = { $n } H/s
col-score = Оценка
col-score-title = Репутация этого пира в этом браузере: от 0 до 1, 0,5 для незнакомца
tr-avoided = избегается
