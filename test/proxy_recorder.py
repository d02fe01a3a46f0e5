#!/usr/bin/env python3
"""A loopback HTTP proxy that records who used it (test/proxy-env.sh).

    proxy_recorder.py --port-file PATH --log PATH

Listens on 127.0.0.1 (a free port, written to --port-file).  For each
connection it appends one line to --log, "METHOD host:port/path" of the
first request with the query cut off (a query carries the token), then
relays the connection to that host, which must be the loopback: an
absolute-form request ("GET http://127.0.0.1:P/v2/x HTTP/1.1") is passed on
as it is, a CONNECT is answered 200 and tunnelled.  Python standard library
only; stops on SIGTERM.
"""

import argparse
import os
import re
import signal
import socket
import socketserver
import sys
import threading

LOOPBACK = ('127.0.0.1', 'localhost')
REQUEST_LINE = re.compile(rb'^([A-Z]+) (\S+) HTTP/1\.[01]\r?\n')
ABSOLUTE = re.compile(rb'^https?://([^/:]+)(?::(\d+))?(/[^?#]*)?')


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        head = b''
        while b'\n' not in head and len(head) < 65536:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        m = REQUEST_LINE.match(head)
        if not m:
            self.server.record('? unreadable request')
            return
        method, target = m.group(1), m.group(2)
        if method == b'CONNECT':
            host, _, port = target.decode('ascii', 'replace').rpartition(':')
            path = ''
        else:
            a = ABSOLUTE.match(target)
            if not a:
                self.server.record('%s not a proxy request' % method.decode())
                return
            host = a.group(1).decode('ascii', 'replace')
            port = (a.group(2) or b'80').decode()
            path = (a.group(3) or b'/').decode('ascii', 'replace')
        self.server.record('%s %s:%s%s' % (method.decode(), host, port, path))
        if host not in LOOPBACK or not port.isdigit():
            client.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
            return
        try:
            upstream = socket.create_connection(('127.0.0.1', int(port)), timeout=30)
        except OSError:
            client.sendall(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
            return
        if method == b'CONNECT':
            client.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            rest = head[m.end():].split(b'\r\n\r\n', 1)
            head = rest[1] if len(rest) > 1 else b''
        if head:
            upstream.sendall(head)
        back = threading.Thread(target=relay, args=(upstream, client), daemon=True)
        back.start()
        relay(client, upstream)
        back.join(30)
        upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, log_path):
        super().__init__(('127.0.0.1', 0), Handler)
        self.log_path = log_path
        self.lock = threading.Lock()

    def record(self, line):
        with self.lock:
            with open(self.log_path, 'a', encoding='ascii', errors='replace') as f:
                f.write(line + '\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--log', required=True)
    args = ap.parse_args()
    open(args.log, 'w').close()
    server = Server(args.log)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=server.shutdown, daemon=True).start())
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % server.server_address[1])
    os.replace(tmp, args.port_file)
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
