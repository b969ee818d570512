"""Workload: a TCP echo server and client over loopback, in two threads."""
import socket
import threading

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]


def serve():
    conn, _ = server.accept()
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(data.upper())


thread = threading.Thread(target=serve)
thread.start()
replies = []
with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
    for word in (b"alpha", b"beta", b"gamma"):
        client.sendall(word)
        replies.append(client.recv(4096).decode())
thread.join()
server.close()
print("echo", " ".join(replies))
