# La página de Chiral en español.

## Header and footer
page-title = Chiral · comparte archivos desde tu navegador
nav-share = Compartir
nav-download = Descargar
nav-library = Biblioteca
nav-wallet = Cartera
nav-network = Red
locale-title = Idioma
footer = Los archivos se procesan en esta pestaña; nada sale de tu equipo hasta que lo compartes.

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
save = Guardar
copy = Copiar
remove = Quitar

## Network view
net-connecting = conectando…
net-connected = conectado
net-retrying = desconectado ({ $error }); reintento n.º { $attempt } en { $seconds } s
net-online = en línea
net-offline = sin conexión
net-starting = iniciando…
net-title = Red
net-lede = Esta pestaña es un nodo Kademlia (modo cliente) que llega a la DHT a través de su relé.
net-connection = Conexión
net-relay = Relé
net-peer-id = ID de par de esta página
net-connected-peers = Pares conectados
net-routing-table = Tabla de enrutamiento DHT
net-routing-peers = { $count ->
        [one] { $count } par
       *[other] { $count } pares
    }

## NAT traversal card (Network view)
ice-none = ninguno (solo se conectan directamente los pares de la misma red)
ice-title = Atravesar NAT
ice-lede = Los navegadores de redes domésticas distintas se alcanzan mediante STUN (que les da a conocer su dirección pública) o, si no hay camino directo, a través de un relé TURN.
ice-from-relay = De este relé:
ice-unavailable = no disponible ({ $error }); reintentando
ice-asking = consultando…
ice-own-servers = Tus propios servidores, uno por línea:
ice-or = o
ice-saved = guardado: { $count ->
        [one] { $count } servidor propio
       *[other] { $count } servidores propios
    }, usados en las conexiones nuevas
copied = Copiado ✓
copy-failed = Error al copiar
passphrase = Frase de contraseña

## Share view
share-need-passphrase = Escribe una frase de contraseña para cifrar o desmarca «Cifrar».
share-unreadable = No se puede leer el archivo elegido: { $error }
share-picker-failed = Falló el selector de archivos: { $error }
share-title = Compartir un archivo
share-lede = Su ID de contenido, su magnet de BitTorrent y su enlace ed2k se calculan aquí mismo, en tu navegador.
share-drop-title = Suelta un archivo aquí o haz clic para elegirlo
share-drop-hint = De cualquier tamaño: se lee por partes y nunca se guarda entero en memoria.
share-pick-title = Elegido así (o arrastrado), el archivo puede volver a sembrarse tras recargar directamente desde tu disco, sin copia
share-pick = Elegir un archivo para seguir sembrándolo desde el disco…
share-encrypt = Cifrar antes (AES-256-GCM, clave derivada de tu frase de contraseña)
share-hashing = Calculando hash de
share-of = { $done } de { $total }
share-eta = Tiempo restante: { $time }
share-chunks-of = { $count ->
        [one] bloque
       *[other] bloques
    } de 256 KiB
share-encrypted = cifrado
share-hashed-in = hash calculado en { $time } ({ $rate })
share-cid = ID de contenido
share-infohash = Infohash
share-magnet = Magnet
share-ed2k-link = Enlace ed2k
share-merkle-root = Raíz de Merkle
publish-waiting = esperando a la red…
publish-publishing = publicando en la DHT…
publish-published = publicado en la DHT a las { $time } · esta pestaña lo siembra mientras esté abierta
publish-relay-only = guardado solo en el relé (aún no hay otros pares en la DHT)
publish-failed = error al publicar: { $error }
publish-label = Descubrimiento
seed-encrypted = los archivos cifrados se comparten por su texto cifrado, que esta pestaña no conserva; podrán sembrarse cuando llegue el almacenamiento en el relé
seed-not-seeded = no se siembra: { $error }
seed-seeding = sembrando desde esta pestaña · { $count ->
        [one] { $count } par
       *[other] { $count } pares
    } · ↑ { $rate } · { $sent } enviados
seed-label = Siembra

## Download view
dl-bad-cid = Un ID de contenido tiene 64 dígitos hexadecimales.
dl-not-connected = Aún no hay conexión con la red; vuelve a intentarlo en un momento.
dl-title = Descargar
dl-auto-seed = Seguir sembrando las descargas terminadas mientras esta pestaña esté abierta
dl-from = Descargar de
dl-who-has = ¿Quién tiene un archivo?
dl-who-has-lede = Toda descarga empieza con una búsqueda en la DHT: pega un ID de contenido para ver quién lo tiene.
dl-cid-placeholder = ID de contenido (64 dígitos hexadecimales)
dl-find = Buscar
dl-asking = Consultando a la DHT por
dl-nobody-before = Nadie en la DHT tiene{" "}
dl-nobody-after = {" "}en este momento.
dl-chunks = { $count ->
        [one] { $count } bloque
       *[other] { $count } bloques
    }
dl-conflicting = { $count ->
        [one] { $count } registro no coincidía sobre este archivo y se descartó.
       *[other] { $count } registros no coincidían sobre este archivo y se descartaron.
    }
dl-download = Descargar
dl-seeders = { $count ->
        [one] { $count } sembrador
       *[other] { $count } sembradores
    }
col-protocol = Protocolo
col-peer = Par
col-endpoint = Extremo
col-price = Precio
col-chunks = Bloques
dl-free = gratis
dl-price-per-mb = { $price } por MB
dl-have-of = { $have } de { $count } bloques
dl-no-usable-record = Ningún registro de la DHT de este archivo indica un infohash y una raíz de Merkle utilizables.
dl-paste-hint = Pega un enlace magnet, un enlace ed2k o un ID de contenido (64 dígitos hexadecimales).
dl-looking-up = Buscando { $cid } en la DHT…
dl-nobody = Nadie en la DHT tiene { $cid } en este momento.
dl-input-placeholder = Enlace magnet, enlace ed2k o ID de contenido
sources-both = Navegadores (WebRTC) y el relé (HTTP, puente BitTorrent)
sources-webrtc = Solo navegadores (WebRTC)
sources-relay = Solo el relé (HTTP, puente BitTorrent)

## Transfers (Download view)
tr-resume-failed = No se pudo reanudar una descarga guardada: { $error }
tr-start-failed = No se pudo iniciar la descarga: { $error }
tr-no-good-root = Ninguna copia ofrecida por la DHT es el archivo pedido ({ $count } afirmación(es) no superaron la comprobación del ID de contenido); no se guardó ni se pagó nada.
tr-save-failed = No se puede guardar el archivo: { $error }
tr-folder-save-failed = No se puede guardar la carpeta: { $error }
tr-delete-failed = No se pudieron borrar las piezas guardadas: { $error }
tr-metadata = buscando pares y los metadatos del archivo…
tr-downloading = descargando · tiempo restante { $time }
tr-verifying = verificando el archivo completo… { $percent }
tr-complete = completo
tr-seeding = sembrando
tr-error = error: { $error }
tr-cid-matches = ✓ el SHA-256 coincide con el ID de contenido
tr-cid-mismatch = ✗ el SHA-256 no coincide con el ID de contenido
tr-pieces = { $have } / { $count } piezas
tr-peers = { $count ->
        [one] { $count } par
       *[other] { $count } pares
    }
tr-banned = { $count } descartados por datos corruptos
tr-kept-title = Piezas conservadas de una copia cuyo archivo completo no superó el ID de contenido, cada una comprobada de nuevo con esta raíz
tr-kept = { $count } piezas conservadas de una copia rechazada
tr-check-title = Cómo se verifica cada pieza antes de conservarla
tr-check-both = piezas: SHA-1 + SHA-256
tr-check-waiting = esperando los hashes de los bloques…
tr-check-sha1 = piezas: SHA-1
col-client = Cliente
col-pieces = Piezas
tr-path-title = Por dónde viajan los paquetes de esta conexión: directamente entre los dos navegadores (a través de sus NAT) o por el servidor TURN del relé
tr-refused = Nadie cobra por esta copia: { $reason }. No se guarda ni se siembra, y se descartan los registros que la indicaban.
tr-save-file = Guardar archivo
tr-play = Reproducir
tr-play-title = Reproducir mientras se descarga: primero llegan las piezas del punto de reproducción
tr-stream-unavailable = La reproducción en streaming no está disponible aquí: { $error }
tr-chunkmap-title = Qué fuente entregó cada bloque
tr-source-chunks = { $source } · { $count } bloques

## Library view
lib-title = Biblioteca
lib-lede = Lo que este navegador comparte y ha descargado. Los archivos que guardes aquí se vuelven a sembrar siempre que esta página esté abierta, tras recargarla o reiniciar.
lib-uploaded = Subido
lib-upload-rate = Velocidad de subida
lib-earned-title = Pagos recibidos por esta cartera por los archivos que sembró
lib-earned = Ganado
lib-shared = Compartidos
lib-reading = leyendo la biblioteca…
lib-empty = Todavía no hay nada guardado. Comparte un archivo y elige «Seguir sembrando tras recargar».
lib-downloaded = Descargados
lib-no-downloads = No hay descargas en este navegador.
lib-stopped = detenido: { $error }
lib-seeding-peers = sembrando · { $count ->
        [one] { $count } par
       *[other] { $count } pares
    }
lib-checking = comprobando el archivo…
lib-copying = copiando en este navegador… { $percent }
lib-needs-access = en pausa: el navegador necesita tu permiso para volver a leer el archivo
lib-missing = falta: el archivo ya no existe
lib-changed = no se siembra: el archivo cambió ({ $error })
lib-location-title = De dónde se leen los bytes
lib-location-copy = copia en este navegador
lib-location-disk = tu archivo en disco
lib-uploaded-in-all = { $size } subidos en total
lib-earned-file-title = Pagos recibidos por este archivo
lib-earned-amount = { $amount } ganados
lib-added = añadido el { $date }
lib-in-dht-since = en la DHT desde las { $time }
lib-in-dht-since-relay = en la DHT desde las { $time } (solo el relé)
lib-not-in-dht = aún no está en la DHT
lib-forgot-permission = Tu navegador olvidó el permiso para leer este archivo. Concédelo de nuevo para reanudar la siembra.
lib-regrant = Volver a dar acceso para seguir sembrando { $name }
lib-stop-sharing = Dejar de compartir
lib-state-downloading = descargando
lib-state-verifying = verificando
lib-state-error = error
lib-uploaded-size = { $size } subidos
lib-details = Detalles
keep-unavailable = Los archivos cifrados no se guardan: el texto cifrado no está en el disco.
keep-offer = Seguir sembrando tras recargar: guardar una copia en el almacenamiento de este navegador ({ $size })
keep-copying = copiando en el almacenamiento de este navegador… { $percent }
keep-error = No se guardó: { $error }
keep-kept-disk = En tu biblioteca: se vuelve a sembrar desde tu disco siempre que esta página esté abierta.
keep-kept-copy = En tu biblioteca: una copia en este navegador lo siembra siempre que esta página esté abierta.
keep-open-library = Abrir la biblioteca
keep-label = Tras recargar

## Sharing a folder (Share view) and a folder torrent's files (Download view)
folder-n-files = { $count ->
        [one] { $count } archivo
       *[other] { $count } archivos
    }
folder-title = Compartir una carpeta
folder-lede = Varios archivos o una carpeta entera se convierten en un solo torrent (cada archivo conserva su propio ID de contenido).
folder-choose-folder = Elegir una carpeta…
folder-choose-files = Elegir varios archivos…
folder-hashing = Calculando hash de { $count } archivos · { $done } de { $total }
folder-id-title = SHA-256 del manifiesto de la carpeta: ruta, tamaño, CID y hash ed2k de cada archivo
folder-id = ID de carpeta
col-file = Archivo
col-size = Tamaño
col-progress = Progreso
folder-seeding = Se siembra desde esta pestaña mientras esté abierta (las cifras en vivo están en Descargar). Cada archivo también se publica por separado y se encuentra por su ID de contenido:
folder-download-file = Descargar este archivo
folder-skipped = omitido
folder-files-chosen = { $count } archivos · { $chosen } elegidos
folder-save-all = Guardar todo en una carpeta…

## eD2k fetch by the relay (Download view)
ed2k-fetching = El relé está obteniendo { $name } de { $count } fuente(s) eD2k: { $done } de { $total } verificados
ed2k-done = El relé ya tiene { $name } (cada parte comprobada con su conjunto de hashes ed2k); se descarga desde el relé más abajo.
ed2k-failed = El relé no pudo obtener { $name } por eD2k: { $error }
ed2k-liars = Descartados por enviar partes erróneas: { $peers }

## Payment channels (Wallet view)
ch-closed-idle = Se cerraron { $count } canal(es) inactivo(s).
ch-reclaiming = Recuperando { $channel }…
ch-reclaimed = Se recuperó el depósito de { $channel } en { $tx }
ch-reclaim-failed = Falló la recuperación de { $channel }: { $error }
ch-closing = Cerrando { $channel }…
ch-closed = { $channel } cerrado en { $tx }
ch-close-failed = Falló el cierre de { $channel }: { $error }
ch-title = Canales de pago
ch-lede = Estilo 2: un depósito por vendedor y luego un vale firmado por cada pieza verificada, sin una transacción por bloque. El vendedor cierra con el vale más alto; el resto del depósito vuelve en la misma transacción.
ch-on = Estilo 2 activado para las transferencias que empiecen a partir de ahora.
ch-off = Estilo 2 desactivado: a los pares se les paga después de la descarga (estilo 1).
ch-enable = Pagar y cobrar mediante canales (estilo 2) con los pares que lo admitan
ch-paying = Pagando
ch-col-seller = Vendedor
ch-col-deposit = Depósito
ch-col-paid = Pagado hasta ahora
ch-col-settles = Al cerrar se liquida
ch-col-refund = Reembolso
ch-replaced = (sustituido)
ch-reclaim-title = Si el vendedor nunca lo cierra, todo el depósito vuelve después del { $time }
ch-reclaim = Recuperar tras el plazo
ch-paid-by = Pagado por
ch-col-payer = Pagador
ch-col-voucher = Vale más alto
col-state = Estado
ch-open = abierto
ch-closed-tx = cerrado { $tx }
ch-close = Cerrar y cobrar
ch-idle-label = Cerrar los canales que me pagan tras estos segundos de inactividad (0 = solo a mano)
ch-idle-saved = Los canales inactivos se cierran tras { $seconds } s.

## Wallet view and the payment box of a finished download
wallet-encrypting = Cifrando la clave (PBKDF2, 600 000 rondas)…
wallet-ready = La cartera { $address } está lista.
wallet-unlucky = Clave desafortunada; inténtalo de nuevo.
wallet-file-imported = Archivo de cartera importado; desbloquéalo con su frase de contraseña.
wallet-unlocking = Desbloqueando…
wallet-unlocked-status = Desbloqueada.
wallet-funded = El grifo de desarrollo del relé te ha dado 10 ETH de prueba.
wallet-no-injected = No hay cartera del navegador (window.ethereum) en esta página.
wallet-injected-connected = Cartera del navegador { $address } conectada en la cadena 98765.
wallet-injected-refused = La cartera del navegador se negó: { $error }
wallet-price-set = Precio de siembra fijado en { $price } por MB; se aplica a los archivos que compartas a partir de ahora.
wallet-price-invalid = Un precio es una cantidad decimal de ETH, como 0.001.
wallet-unlock-to-pay = Desbloquea la cartera (o conecta una cartera del navegador) para pagar.
pay-title = Pago
pay-col-seeder-wallet = Cartera del sembrador
pay-col-verified = Verificado
col-amount = Importe
units-mb = { $n } MB
pay-ranges = { $count } rango(s)
pay-total = Total
pay-one-tx = una transacción EIP-1559 por sembrador · cadena 98765
pay-button = Pagar
pay-confirmed = confirmado en el bloque { $block }, { $gas } de gas
pay-failed = falló: { $reason }
pay-tx = tx
pay-state-planned = planificado
pay-state-signed = firmado
pay-state-submitting = enviando
pay-state-sent = enviado
pay-state-confirmed = confirmado
pay-state-failed = fallido
wallet-title = Cartera
wallet-lede = Paga a los sembradores por megabyte en la cadena 98765 y cobra por lo que siembras.
wallet-builtin = Cartera integrada
wallet-builtin-lede = Una clave creada en esta pestaña y guardada solo cifrada (AES-256-GCM, clave derivada de tu frase de contraseña con PBKDF2) en este navegador.
wallet-passphrase-placeholder = Frase de contraseña (8 caracteres o más)
wallet-create = Crear cartera
wallet-import-summary = Importar una clave privada o un archivo de cartera
wallet-import-placeholder = Clave privada 0x… o un archivo de cartera exportado (JSON)
wallet-import = Importar
wallet-unlock = Desbloquear
wallet-unlocked = desbloqueada
wallet-export = Exportar archivo de cartera
wallet-lock = Bloquear
wallet-balance = Saldo
wallet-browser = Cartera del navegador
wallet-connect-browser = Conectar cartera del navegador
wallet-use-browser = Pagar con la cartera del navegador
wallet-price-title = Precio de siembra
wallet-price-lede = Lo que pagan quienes descargan a esta página por cada MB de datos verificados que entrega (0 = gratis). Se anuncia a los pares junto con la dirección de tu cartera.
wallet-price-save = Guardar (ETH por MB)
wallet-price-now = ahora { $price } por MB
wallet-payments-made = Pagos realizados (estilo 1)
col-to = A
col-transaction = Transacción
wallet-earnings = Ganancias
wallet-from = de
wallet-block = bloque { $block }

## Errors written by the page
hash-unreadable = No se pudo leer «{ $name }» ({ $error }). ¿Se movió o se borró?
lib-cannot-open = No se puede abrir la biblioteca, así que los archivos compartidos no sobrevivirán a una recarga: { $error }
lib-record-skipped = Se omitió un registro de la biblioteca: { $error }
lib-cannot-read = No se puede leer la biblioteca: { $error }
lib-copy-not-deleted = no se pudo borrar la copia: { $error }
lib-record-not-deleted = no se pudo borrar el registro de la biblioteca: { $error }
lib-stopped-but = Se dejó de compartir { $name }, pero { $problems }
lib-stopped-while-copying = se dejó de compartir mientras se escribía la copia
ed2k-bad-magnet = el magnet del relé no se puede leer

## Panel de actividad y de la cadena (vista Red)
dash-title = Actividad
dash-totals = descargado { $down } · subido { $up }
dash-plot-label = Velocidad de descarga y subida en los últimos 5 minutos
dash-five-minutes-ago = hace 5 min
dash-scale = máximo: { $rate }
dash-now = ahora
dash-peers-by-protocol = Pares por protocolo
dash-no-peers = ningún par conectado
dash-network = Relé y DHT
dash-dht = DHT
dash-dht-state = pares conectados: { $peers } · tabla de enrutamiento: { $routing }
dash-dht-offline = sin conexión
dash-not-reported = no informado
chain-title = Cadena
chain-loading = consultando la cadena…
chain-down = No se puede acceder a la cadena: { $error }
chain-height = Altura de bloque
chain-block-time = Hora del bloque
chain-base-fee = Tarifa base
chain-gwei = { $n } gwei
chain-id = ID de cadena
chain-network-id = ID de red
chain-client = Cliente
chain-mining = Minería
chain-mining-yes = sí
chain-mining-no = no
chain-hashrate = Tasa de hash
chain-hashes-per-s = { $n } H/s
col-score = Puntuación
col-score-title = Reputación de este par en este navegador: de 0 a 1, 0,5 para un desconocido
tr-avoided = evitado
