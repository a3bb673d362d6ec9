#!/bin/sh
# ftpsgw client-certification adapter around curl (reference). The contract:
#   curl.sh upload FILE FOLDER   upload FILE under its own name into the gateway folder FOLDER
#   curl.sh receipts DIR         download the files now in /out into DIR
# Connection from FTPSGW_HOST, FTPSGW_PORT, FTPSGW_CA, FTPSGW_CERT, FTPSGW_KEY,
# FTPSGW_USERNAME, FTPSGW_PASSWORD; FTPSGW_STATE_DIR keeps the names already submitted;
# FTPSGW_FORMAT=fixed-record asks for ASCII mode. Exit 0 done, 127 unsupported, else failure.
set -u
url="ftp://$FTPSGW_HOST:$FTPSGW_PORT"
state="${FTPSGW_STATE_DIR:-.}/submitted"
tls="--ssl-reqd --tlsv1.2 --tls-max 1.2"
cert="--cert $FTPSGW_CERT --key $FTPSGW_KEY"
ftpcurl() {
	curl -sS --max-time 30 $tls --cacert "$FTPSGW_CA" $cert --user "$FTPSGW_USERNAME:$FTPSGW_PASSWORD" "$@"
}

case "${1:-}" in
upload)
	file=$2 folder=$3 name=$(basename "$2")
	if grep -qxF "$name" "$state" 2>/dev/null; then echo "refusing: $name was submitted before; the gateway never accepts a name twice" >&2; exit 1; fi
	mode=""
	[ "${FTPSGW_FORMAT:-}" = fixed-record ] && mode="--use-ascii"
	for attempt in 1 2 3; do
		if ftpcurl $mode -T "$file" "$url/$folder/"; then
			echo "$name" >> "$state"
			echo "uploaded $name to $folder (attempt $attempt)"
			exit 0
		fi
		echo "attempt $attempt failed; retrying" >&2
		sleep 1
	done
	exit 1
	;;
receipts)
	dir=$2
	list=$(ftpcurl --list-only "$url/out/") || exit 1
	for f in $list; do
		ftpcurl -o "$dir/$f" "$url/out/$f" || exit 1
	done
	echo "fetched $(echo "$list" | grep -c .) file(s) from /out"
	;;
*)
	echo "unsupported action: ${1:-}" >&2
	exit 127
	;;
esac
