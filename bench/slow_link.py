"""A slow, lossy link between two network namespaces, made in user space.

This machine's kernel has no netem, so the link is a pair of TUN devices, one
in each namespace, and a thread that carries every IP packet from one to the
other after `delay` seconds, dropping each with probability `loss`. Both TCP
and UDP see the same per-packet delay and loss, end to end (nothing between
terminates a connection), so congestion control meets the link as it would a
real one. The queue each way holds at most `queue` packets (a router's
buffer: past it, packets are dropped).

    link = SlowLink("ns-a", "ns-b", delay=0.05, loss=0.01)
    link.start()        # 10.78.0.1 in ns-a, 10.78.0.2 in ns-b
    ...
    link.stop()

Only for namespaces the caller made: the link carries nothing else.
"""
import collections
import fcntl
import os
import random
import select
import struct
import subprocess
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def _tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


class SlowLink:
    def __init__(self, ns_a, ns_b, delay, loss, queue=4096, addresses=("10.78.0.1", "10.78.0.2"), seed=1):
        self.ns = (ns_a, ns_b)
        self.delay, self.loss, self.queue = delay, loss, queue
        self.addresses = addresses
        self.random = random.Random(seed)
        self.carried = [0, 0]
        self.dropped = [0, 0]
        self._stop = threading.Event()
        self._thread = None
        self._fds = []

    def start(self):
        tag = str(os.getpid() % 100000)
        for i, (ns, address) in enumerate(zip(self.ns, self.addresses)):
            name = f"tsl{tag}{'ab'[i]}"
            self._fds.append(_tun(name))
            for step in (["ip", "link", "set", name, "netns", ns],
                         ["ip", "-n", ns, "addr", "add", address + "/24", "dev", name],
                         ["ip", "-n", ns, "link", "set", name, "up"],
                         ["ip", "-n", ns, "link", "set", "lo", "up"]):
                subprocess.run(step, check=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def _run(self):
        fds = self._fds
        queues = (collections.deque(), collections.deque())  # packets on their way to side 0, side 1
        while not self._stop.is_set():
            now = time.monotonic()
            due = [q[0][0] for q in queues if q]
            timeout = max(0.0, min(due) - now) if due else 0.05
            readable, _, _ = select.select(fds, [], [], min(timeout, 0.05))
            now = time.monotonic()
            for fd in readable:
                side = fds.index(fd)
                towards = queues[1 - side]
                for _ in range(256):
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    if self.random.random() < self.loss or len(towards) >= self.queue:
                        self.dropped[side] += 1
                        continue
                    towards.append((now + self.delay, packet))
            now = time.monotonic()
            for side, q in enumerate(queues):
                while q and q[0][0] <= now:
                    _, packet = q.popleft()
                    try:
                        os.write(fds[side], packet)
                        self.carried[1 - side] += 1
                    except (BlockingIOError, OSError):
                        self.dropped[1 - side] += 1
