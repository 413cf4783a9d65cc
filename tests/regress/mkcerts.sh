#!/bin/bash
# mkcerts.sh DIR: a CA, a server certificate for 127.0.0.1, client certificates.
set -e
d=$1
cd "$d"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() {
	ec "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# leaf NAME CA SUBJECT EKU [SAN]
leaf() {
	ec "$1"
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=$4"
		[ -z "${5:-}" ] || echo "subjectAltName=$5"
	} >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
	    -days 2 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca "pw test CA"
ca other "another CA"
leaf server ca "/CN=portwing" serverAuth "IP:127.0.0.1,DNS:localhost"
leaf ops ca "/CN=ops-admin" clientAuth "URI:spiffe://example.org/ops,DNS:ops.example"
leaf reader ca "/CN=reader" clientAuth "DNS:reader.example"
leaf halfops ca "/CN=ops-admin" clientAuth "DNS:ops.example"
leaf plain ca "/CN=nobody" clientAuth
leaf stranger other "/CN=ops-admin" clientAuth "URI:spiffe://example.org/ops"
leaf srvonly ca "/CN=ops-admin" serverAuth "URI:spiffe://example.org/ops"
# the reader's public key pin (SHA-256 of the SubjectPublicKeyInfo)
openssl pkey -in reader.key -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -r | cut -d' ' -f1 >reader.pin
