#!/usr/bin/env python3
"""A loopback HTTPS proxy for one purpose: rclone's Amazon Drive backend has the endpoint
discovery URL https://drive.amazonaws.com/drive/v1/account/endpoint compiled in. With
HTTPS_PROXY pointing here and --ca-cert trusting our throwaway CA, rclone's CONNECT to
drive.amazonaws.com:443 is answered by us: we terminate TLS with a certificate for that name
and forward the request, over plain HTTP, to acd-emu. Everything after discovery goes to
the URLs acd-emu returns (loopback, which Go never proxies). Nothing leaves 127.0.0.1.

Usage: discovery_proxy.py CERT KEY EMULATOR_URL  (prints "listening on PORT")
"""
import http.client
import socket
import ssl
import sys
import threading
import urllib.parse

CERT, KEY, EMU = sys.argv[1], sys.argv[2], urllib.parse.urlsplit(sys.argv[3])


def read_head(sock_file):
    lines = []
    while True:
        line = sock_file.readline(65536)
        if not line or line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def forward(tls):
    f = tls.makefile("rb")
    while True:
        head = read_head(f)
        if not head:
            return
        method, target, _ = head[0].split(" ", 2)
        headers = dict(h.split(": ", 1) for h in head[1:] if ": " in h)
        length = int(headers.get("Content-Length", "0"))
        body = f.read(length) if length else None
        upstream = http.client.HTTPConnection(EMU.hostname, EMU.port, timeout=30)
        keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "accept-encoding")}
        upstream.request(method, target, body=body, headers=keep)
        resp = upstream.getresponse()
        data = resp.read()
        out = [f"HTTP/1.1 {resp.status} {resp.reason}"]
        out += [f"{k}: {v}" for k, v in resp.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")]
        out += [f"Content-Length: {len(data)}", "Connection: keep-alive", "", ""]
        tls.sendall("\r\n".join(out).encode("latin-1") + data)


def handle(client):
    try:
        f = client.makefile("rb")
        head = read_head(f)
        if not head or not head[0].startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host = head[0].split(" ")[1]
        if not host.startswith("drive.amazonaws.com:"):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        ctx.set_alpn_protocols(["http/1.1"])
        with ctx.wrap_socket(client, server_side=True) as tls:
            forward(tls)
    except (OSError, ValueError) as e:
        print(f"proxy: {e}", file=sys.stderr)
    finally:
        client.close()


def main():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    print(f"listening on {server.getsockname()[1]}", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=handle, args=(client,), daemon=True).start()


main()
