// Routes spdlog's default logger to memory for a test's lifetime, one
// "[level] message" line per record, so a test can check what an operator
// would read in the log.
#ifndef CAIRN_TESTS_SUPPORT_LOG_CAPTURE_H_
#define CAIRN_TESTS_SUPPORT_LOG_CAPTURE_H_

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace cairn::testing {

class LogCapture {
 public:
  // Keeps the newest `capacity` lines of `level` and above.
  explicit LogCapture(std::size_t capacity = 1000,
                      spdlog::level::level_enum level = spdlog::level::info)
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(capacity)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("test", sink_);
    logger->set_pattern("[%l] %v");
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Every captured line, oldest first, without its line end.
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines = sink_->last_formatted();
    for (auto& line : lines) {
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
      }
    }
    return lines;
  }
  // The lines that contain `needle`.
  std::vector<std::string> Lines(const std::string& needle) const {
    std::vector<std::string> out;
    for (auto& line : Lines()) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }
  // How many lines start with `prefix` (e.g. "[error]") and contain `text`.
  std::size_t Count(const std::string& prefix,
                    const std::string& text = "") const {
    std::size_t n = 0;
    for (const auto& line : Lines()) {
      if (line.rfind(prefix, 0) == 0 && line.find(text) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }
  // Whether one line contains both `a` and `b`.
  bool Has(const std::string& a, const std::string& b) const {
    for (const auto& line : Lines()) {
      if (line.find(a) != std::string::npos &&
          line.find(b) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_LOG_CAPTURE_H_
