// Settings: a replication strategy's configuration keys and their values.
//
// A strategy declares its keys (SettingSpec: name, help, default, the rule a value follows); a
// Settings holds one value per declared key, as text, starting at the defaults. Values are checked
// when set, with an error that names the key — the same rules whether they come from a TOML file,
// a command-line flag, `replikv cluster --set`, or the simulator. Keys that depend on each other or
// on the cluster (the ack policy against the member count) are the strategy's to check
// (Strategy::validate, core/strategy.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace replikv::core {

struct SettingSpec {
  enum class Kind : uint8_t { unsigned_integer, boolean, choice, text };
  std::string name;  // lower case with underscores; the flag is the same with dashes
  std::string help;
  std::string default_value;
  Kind kind = Kind::text;
  uint64_t min = 0;                  // unsigned_integer
  uint64_t max = UINT64_MAX;         // unsigned_integer
  std::vector<std::string> choices;  // choice
  // Every node of a cluster must have the same value (the handshake compares them: fingerprint()).
  bool cluster_wide = false;
  // text: the error for a value that does not fit (without the key's name), or nullopt.
  std::function<std::optional<std::string>(std::string_view)> check_text;
};

// Spec builders.
SettingSpec unsigned_setting(std::string name, std::string help, uint64_t default_value,
                             uint64_t min, uint64_t max);
SettingSpec boolean_setting(std::string name, std::string help, bool default_value);
SettingSpec choice_setting(std::string name, std::string help, std::vector<std::string> choices,
                           std::string default_value);
// The same spec, marked one every node of a cluster must share (SettingSpec::cluster_wide).
SettingSpec cluster_wide(SettingSpec spec);
SettingSpec text_setting(
    std::string name, std::string help, std::string default_value,
    std::function<std::optional<std::string>(std::string_view)> check_text = {});

// The error for `text` as a value of `spec` ("<key>: expected …, got '…'"), or nullopt.
std::optional<std::string> check_setting(const SettingSpec& spec, std::string_view text);

class Settings {
 public:
  Settings() = default;
  // Every key of `specs`, at its default. `specs` must outlive the settings (a strategy's do).
  explicit Settings(const std::vector<SettingSpec>& specs);

  // Sets a declared key: nullopt, or the error naming the key. An undeclared key is an error too.
  std::optional<std::string> set(std::string_view key, std::string_view text);
  bool declares(std::string_view key) const;
  // Sets each of `values` in turn: nullopt, or the first error — for a key `strategy` does not
  // declare, "<flag_prefix><key>: not a setting of strategy <strategy>".
  std::optional<std::string> set_all(const std::map<std::string, std::string>& values,
                                     std::string_view strategy, std::string_view flag_prefix = {});

  // The value of a declared key (asserted).
  const std::string& text(std::string_view key) const;
  uint64_t number(std::string_view key) const;
  bool flag(std::string_view key) const;

  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }
  const std::vector<SettingSpec>& specs() const;

 private:
  const std::vector<SettingSpec>* specs_ = nullptr;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace replikv::core
