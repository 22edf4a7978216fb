#include "testing/slow_link.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <random>
#include <vector>

#include "testing/netns.h"

namespace tandem::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The most packets waiting each way, as a router's buffer holds.
constexpr size_t kQueue = 4096;

int OpenTun(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq request{};
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &request) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct InFlight {
  Clock::time_point due;
  std::vector<uint8_t> packet;
};

}  // namespace

std::unique_ptr<SlowLink> SlowLink::Make(const std::string& ns_a, const std::string& ns_b, int subnet,
                                         std::chrono::milliseconds delay, double loss, std::string* why) {
  std::unique_ptr<SlowLink> link(new SlowLink());
  link->subnet_ = subnet;
  link->delay_ = delay;
  link->loss_ = loss;
  const std::string tag = std::to_string(::getpid() % 100000);
  const std::string namespaces[2] = {ns_a, ns_b};
  for (int side = 0; side < 2; ++side) {
    const std::string name = "tsl" + tag + (side == 0 ? "a" : "b");
    link->names_[side] = name;
    link->fds_[side] = OpenTun(name);
    if (link->fds_[side] < 0) {
      *why = "cannot make a TUN device (/dev/net/tun): " + std::string(std::strerror(errno));
      return nullptr;
    }
    for (const std::string& step :
         {"ip link set " + name + " netns " + namespaces[side],
          "ip -n " + namespaces[side] + " addr add " + link->ip(side) + "/24 dev " + name,
          "ip -n " + namespaces[side] + " link set " + name + " up",
          "ip -n " + namespaces[side] + " link set lo up"}) {
      Shell done = Sh(step);
      if (!done.ok) {
        *why = step + ": " + done.output;
        return nullptr;
      }
    }
  }
  link->thread_ = std::thread([raw = link.get()] { raw->Run(); });
  return link;
}

SlowLink::~SlowLink() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

void SlowLink::Run() {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> chance(0, 1);
  std::deque<InFlight> towards[2];  // packets on their way to side 0, side 1
  std::vector<uint8_t> buffer(65536);
  while (!stop_) {
    auto now = Clock::now();
    int timeout_ms = 20;
    for (const auto& queue : towards) {
      if (queue.empty()) continue;
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(queue.front().due - now).count();
      timeout_ms = std::max(0, std::min<int>(timeout_ms, static_cast<int>(wait)));
    }
    pollfd polled[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    ::poll(polled, 2, timeout_ms);
    now = Clock::now();
    for (int side = 0; side < 2; ++side) {
      if (!(polled[side].revents & POLLIN)) continue;
      for (int i = 0; i < 256; ++i) {
        ssize_t n = ::read(fds_[side], buffer.data(), buffer.size());
        if (n <= 0) break;
        auto& queue = towards[1 - side];
        if (cut_ || chance(random) < loss_ || queue.size() >= kQueue) {
          ++dropped_;
          continue;
        }
        queue.push_back({now + delay_, std::vector<uint8_t>(buffer.begin(), buffer.begin() + n)});
      }
    }
    for (int side = 0; side < 2; ++side) {
      auto& queue = towards[side];
      while (!queue.empty() && queue.front().due <= now) {
        if (cut_ || ::write(fds_[side], queue.front().packet.data(), queue.front().packet.size()) < 0) {
          ++dropped_;
        } else {
          ++carried_;
        }
        queue.pop_front();
      }
    }
  }
}

}  // namespace tandem::testing
