// Backoff: how long to wait before trying again something that keeps
// failing (dialling a peer, a store that cannot write, blocks no peer has).
// The pause doubles from `first` up to `cap`, and each pause is drawn at
// random from the upper half of its range, so devices that failed together
// do not all try again in the same instant. Plain data: the owner's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace tandem {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap);

  // The pause to wait now; the next one is twice as long (up to the cap).
  std::chrono::milliseconds Next();
  // After a success: the next pause is `first` again.
  void Reset() { step_ = first_; }
  // The upper bound of the next pause, for messages ("retrying in 4 s").
  std::chrono::milliseconds upcoming() const { return step_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds step_;
  std::minstd_rand random_;
};

}  // namespace tandem
