#!/usr/bin/env bash
# A stand-in for a vendor's product, for certify-client --observe: it knows nothing of ftpsgw
# but the connection kit. Every INTERVAL seconds it uploads a new heartbeat file with curl
# (after a failure, under a new name: a careful product never risks a name the gateway may
# have taken even though the client saw an error), lists /out and fetches the
# receipts of its files it has not fetched yet. After ROUNDS rounds it asks the gateway to
# finish the observation.
#
#   KIT=ftpsgw-kit examples/products/curl-product.sh
#
# PRODUCT_VARIANT makes it misbehave on purpose (the tests): insecure (trusts any server
# certificate), reuse-name (every upload under one name).
set -u
kit=${KIT:?set KIT to the connection kit folder}
rounds=${ROUNDS:-30}
interval=${INTERVAL:-1}
identity=${PRODUCT_IDENTITY:-moces}
folder=${PRODUCT_FOLDER:-FTPSGW.Heartbeat}
variant=${PRODUCT_VARIANT:-careful}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
eval "$(python3 - "$kit" "$identity" <<'PY'
import json, shlex, sys, os
kit, name = sys.argv[1], sys.argv[2]
c = json.load(open(os.path.join(kit, "connection.json")))
i = [x for x in c["identities"] if x["name"] == name][0]
for k, v in {"host": c["host"], "port": c["port"], "ca": os.path.join(kit, c["ca"]), "finish": c["finish"],
             "p12": os.path.join(kit, i["p12"]), "p12pw": i["p12_password"], "user": i["username"], "pass": i["password"]}.items():
    print(f"{k}={shlex.quote(v)}")
PY
)"
trust=(--cacert "$ca")
[ "$variant" = insecure ] && trust=(--insecure)
ftp() { curl -sS --max-time 20 --ssl-reqd --tlsv1.2 --tls-max 1.2 "${trust[@]}" --cert-type P12 --cert "$p12:$p12pw" --user "$user:$pass" "$@"; }
n=1
mkdir -p "$work/receipts"
for round in $(seq "$rounds"); do
	name="ping_product_$n.txt"
	[ "$variant" = reuse-name ] && name=ping_product_1.txt
	echo "heartbeat $round from the curl product" > "$work/$name"
	if ftp -T "$work/$name" "ftp://$host:$port/$folder/$name"; then
		echo "round $round: uploaded $name"
		n=$((n + 1))
	else
		echo "round $round: the upload of $name failed; trying again next round under a new name"
		n=$((n + 1))
	fi
	if list=$(ftp --list-only "ftp://$host:$port/out/"); then
		for f in $list; do
			case $f in status_*) ;; *) continue ;; esac
			[ -e "$work/receipts/$f" ] || ftp -o "$work/receipts/$f" "ftp://$host:$port/out/$f" || true
		done
	fi
	sleep "$interval"
done
echo "done: $(ls "$work/receipts" | wc -l) receipts fetched; finishing the observation"
eval "$finish -sS"
