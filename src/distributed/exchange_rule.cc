#include "deepspark/distributed/exchange_rule.hpp"

#include <map>
#include <mutex>
#include <sstream>

namespace deepspark {
namespace distributed {
namespace {
struct Entry {
  std::string summary;
  ExchangeRuleFactory factory;
};
// Filled by static registrations before main; read afterwards. The mutex
// covers rules registered later (a test's own rule).
std::mutex& RegistryMutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, Entry>& Registry() {
  static std::map<std::string, Entry> registry;
  return registry;
}
}  // namespace

void RegisterExchangeRule(const std::string& name, const std::string& summary,
                          ExchangeRuleFactory factory) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  CHECK(Registry().emplace(name, Entry{summary, std::move(factory)}).second)
      << "exchange rule '" << name << "' registered twice";
}

std::unique_ptr<ExchangeRule> NewExchangeRule(const std::string& name) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::ostringstream known;
    for (const auto& entry : Registry()) known << (known.tellp() ? ", " : "") << entry.first;
    THROW_ERROR() << "unknown exchange rule (--mode) '" << name << "'; known: " << known.str();
  }
  return it->second.factory();
}

std::vector<std::pair<std::string, std::string>> ExchangeRules() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::vector<std::pair<std::string, std::string>> all;
  for (const auto& entry : Registry()) all.emplace_back(entry.first, entry.second.summary);
  return all;
}

}  // namespace distributed
}  // namespace deepspark
