#!/bin/sh
# ftpsgw client-certification adapter around lftp (reference). Same contract as curl.sh.
set -u
state="${FTPSGW_STATE_DIR:-.}/submitted"
setup="set cmd:fail-exit true; set net:max-retries 3; set net:reconnect-interval-base 1; set net:timeout 15;
set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:passive-mode true;
set ssl:ca-file $FTPSGW_CA; set ssl:cert-file $FTPSGW_CERT; set ssl:key-file $FTPSGW_KEY;
set ssl:priority NORMAL:-VERS-ALL:+VERS-TLS1.2;
open -u $FTPSGW_USERNAME,$FTPSGW_PASSWORD -p $FTPSGW_PORT ftp://$FTPSGW_HOST"

case "${1:-}" in
upload)
	file=$2 folder=$3 name=$(basename "$2")
	if grep -qxF "$name" "$state" 2>/dev/null; then echo "refusing: $name was submitted before" >&2; exit 1; fi
	mode=""
	[ "${FTPSGW_FORMAT:-}" = fixed-record ] && mode="-a"
	lftp -c "$setup; cd $folder; put $mode $file" || exit 1
	echo "$name" >> "$state"
	;;
receipts)
	lftp -c "$setup; mirror --no-perms /out $2" || exit 1
	;;
*)
	exit 127
	;;
esac
