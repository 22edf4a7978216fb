#include "testing/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>

namespace tandem::testing {
namespace {

// In a forked child: enters namespace `ns`; false if it cannot.
bool EnterNetns(const std::string& ns) {
  const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return entered;
}

// A UDP socket with `option` (SO_REUSEADDR, SO_BROADCAST) on.
int UdpSocket(int option) {
  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int one = 1;
  ::setsockopt(s, SOL_SOCKET, option, &one, sizeof one);
  return s;
}

// An IPv4 address at `port`, any host until the caller sets one.
sockaddr_in Ipv4(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  return address;
}

bool WriteAll(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Shell Sh(const std::string& command) {
  Shell result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 512> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return result;
}

Shell InNetns(const std::string& ns, const std::string& command) { return Sh("ip netns exec " + ns + " " + command); }

std::string NetnsUnavailable() {
  if (::geteuid() != 0) return "network namespace tests need root (ip netns)";
  if (!Sh("ip -V").ok || !Sh("test -x /usr/bin/nsenter").ok) {
    return "network namespace tests need iproute2 and nsenter (scripts/install-deps installs them)";
  }
  return "";
}

std::unique_ptr<TestLan> TestLan::Make(const std::string& tag, int devices, int subnet, std::string* why) {
  std::unique_ptr<TestLan> lan(new TestLan());
  lan->subnet_ = subnet;
  lan->bridge_ns_ = "tandem-" + tag + "-sw";
  for (int i = 0; i < devices; ++i) lan->namespaces_.push_back("tandem-" + tag + "-" + std::to_string(i));
  // Left by a run that was killed.
  Sh("ip netns del " + lan->bridge_ns_);
  for (const std::string& ns : lan->namespaces_) Sh("ip netns del " + ns);
  std::vector<std::string> steps = {"ip netns add " + lan->bridge_ns_,
                                    "ip -n " + lan->bridge_ns_ + " link add br0 type bridge",
                                    "ip -n " + lan->bridge_ns_ + " link set br0 up"};
  for (int i = 0; i < devices; ++i) {
    const std::string& ns = lan->namespaces_[i];
    const std::string port = "tnd" + tag + "p" + std::to_string(i);  // the bridge's side
    steps.insert(steps.end(),
                 {"ip netns add " + ns, "ip link add " + port + " type veth peer name tnd" + tag + "d" + std::to_string(i),
                  "ip link set " + port + " netns " + lan->bridge_ns_,
                  "ip link set tnd" + tag + "d" + std::to_string(i) + " netns " + ns,
                  "ip -n " + ns + " link set tnd" + tag + "d" + std::to_string(i) + " name " + kInterface,
                  "ip -n " + lan->bridge_ns_ + " link set " + port + " master br0",
                  "ip -n " + lan->bridge_ns_ + " link set " + port + " up",
                  "ip -n " + ns + " addr add " + lan->ip(i) + "/24 brd + dev " + kInterface,
                  "ip -n " + ns + " link set lo up", "ip -n " + ns + " link set " + kInterface + " up"});
  }
  for (const std::string& step : steps) {
    Shell done = Sh(step);
    if (!done.ok) {
      if (why) *why = step + ": " + done.output;
      return nullptr;  // the destructor removes what was made
    }
  }
  return lan;
}

TestLan::~TestLan() {
  for (const std::string& ns : namespaces_) Sh("ip netns del " + ns);  // takes its veth pair with it
  Sh("ip netns del " + bridge_ns_);
}

std::string TestLan::ip(int device) const {
  return "10." + std::to_string(subnet_) + ".0." + std::to_string(device + 1);
}

std::vector<Bytes> ReceiveDatagramsIn(const std::string& ns, uint16_t port, size_t count,
                                      std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    if (!EnterNetns(ns)) ::_exit(1);
    const int s = UdpSocket(SO_REUSEADDR);
    sockaddr_in address = Ipv4(port);
    if (::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(2);
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (size_t got = 0; got < count;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd wait{s, POLLIN, 0};
      if (::poll(&wait, 1, static_cast<int>(left.count())) <= 0) continue;
      std::array<uint8_t, 65536> buffer;
      const ssize_t n = ::recv(s, buffer.data(), buffer.size(), 0);
      if (n < 0) continue;
      const uint32_t size = static_cast<uint32_t>(n);
      if (!WriteAll(fds[1], &size, sizeof size) || !WriteAll(fds[1], buffer.data(), size)) ::_exit(3);
      ++got;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<Bytes> datagrams;
  if (child > 0) {
    Bytes all;
    std::array<uint8_t, 4096> chunk;
    ssize_t n;
    while ((n = ::read(fds[0], chunk.data(), chunk.size())) > 0) all.insert(all.end(), chunk.begin(), chunk.begin() + n);
    int status = 0;
    ::waitpid(child, &status, 0);
    for (size_t at = 0; at + 4 <= all.size();) {
      uint32_t size;
      std::memcpy(&size, all.data() + at, sizeof size);
      at += 4;
      if (at + size > all.size()) break;
      datagrams.emplace_back(all.begin() + at, all.begin() + at + size);
      at += size;
    }
  }
  ::close(fds[0]);
  return datagrams;
}

bool SendDatagramFrom(const std::string& ns, const std::string& ip, uint16_t port, ByteView datagram) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (!EnterNetns(ns)) ::_exit(1);
    const int s = UdpSocket(SO_BROADCAST);
    sockaddr_in to = Ipv4(port);
    if (::inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1) ::_exit(2);
    const ssize_t n = ::sendto(s, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::_exit(n == static_cast<ssize_t>(datagram.size()) ? 0 : 3);
  }
  if (child < 0) return false;
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace tandem::testing
