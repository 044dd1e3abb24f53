#include "core/settings.h"

#include <charconv>

#include <fmt/format.h>

#include "core/assert.h"

namespace replikv::core {

namespace {

SettingSpec spec_of(std::string name, std::string help, std::string default_value,
                    SettingSpec::Kind kind) {
  SettingSpec spec;
  spec.name = std::move(name);
  spec.help = std::move(help);
  spec.default_value = std::move(default_value);
  spec.kind = kind;
  return spec;
}

}  // namespace

SettingSpec unsigned_setting(std::string name, std::string help, uint64_t default_value,
                             uint64_t min, uint64_t max) {
  SettingSpec spec = spec_of(std::move(name), std::move(help), std::to_string(default_value),
                             SettingSpec::Kind::unsigned_integer);
  spec.min = min;
  spec.max = max;
  return spec;
}

SettingSpec boolean_setting(std::string name, std::string help, bool default_value) {
  return spec_of(std::move(name), std::move(help), default_value ? "true" : "false",
                 SettingSpec::Kind::boolean);
}

SettingSpec choice_setting(std::string name, std::string help, std::vector<std::string> choices,
                           std::string default_value) {
  SettingSpec spec = spec_of(std::move(name), std::move(help), std::move(default_value),
                             SettingSpec::Kind::choice);
  spec.choices = std::move(choices);
  return spec;
}

SettingSpec cluster_wide(SettingSpec spec) {
  spec.cluster_wide = true;
  return spec;
}

SettingSpec text_setting(std::string name, std::string help, std::string default_value,
                         std::function<std::optional<std::string>(std::string_view)> check_text) {
  SettingSpec spec =
      spec_of(std::move(name), std::move(help), std::move(default_value), SettingSpec::Kind::text);
  spec.check_text = std::move(check_text);
  return spec;
}

std::optional<std::string> check_setting(const SettingSpec& spec, std::string_view text) {
  switch (spec.kind) {
    case SettingSpec::Kind::unsigned_integer: {
      uint64_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
          value < spec.min || value > spec.max) {
        return fmt::format("{}: expected an integer from {} to {}, got '{}'", spec.name, spec.min,
                           spec.max, text);
      }
      return std::nullopt;
    }
    case SettingSpec::Kind::boolean:
      if (text == "true" || text == "false") return std::nullopt;
      return fmt::format("{}: expected \"true\" or \"false\", got '{}'", spec.name, text);
    case SettingSpec::Kind::choice: {
      std::string allowed;
      for (const auto& word : spec.choices) {
        if (word == text) return std::nullopt;
        allowed += (allowed.empty() ? "" : " or ") + fmt::format("\"{}\"", word);
      }
      return fmt::format("{}: expected {}, got '{}'", spec.name, allowed, text);
    }
    case SettingSpec::Kind::text:
      if (text.empty()) return fmt::format("{}: must not be empty", spec.name);
      if (spec.check_text) {
        if (auto error = spec.check_text(text)) return fmt::format("{}: {}", spec.name, *error);
      }
      return std::nullopt;
  }
  return fmt::format("{}: unknown kind of setting", spec.name);
}

Settings::Settings(const std::vector<SettingSpec>& specs) : specs_(&specs) {
  for (const auto& spec : specs) {
    REPLIKV_ASSERT(!check_setting(spec, spec.default_value), "a setting's default fits its rule");
    values_.emplace(spec.name, spec.default_value);
  }
}

const std::vector<SettingSpec>& Settings::specs() const {
  static const std::vector<SettingSpec> none;
  return specs_ != nullptr ? *specs_ : none;
}

bool Settings::declares(std::string_view key) const { return values_.contains(key); }

std::optional<std::string> Settings::set_all(const std::map<std::string, std::string>& values,
                                             std::string_view strategy,
                                             std::string_view flag_prefix) {
  for (const auto& [key, value] : values) {
    if (!declares(key)) {
      return fmt::format("{}{}: not a setting of strategy {}", flag_prefix, key, strategy);
    }
    if (auto error = set(key, value)) return error;
  }
  return std::nullopt;
}

std::optional<std::string> Settings::set(std::string_view key, std::string_view text) {
  for (const auto& spec : specs()) {
    if (spec.name != key) continue;
    if (auto error = check_setting(spec, text)) return error;
    values_.find(key)->second = std::string(text);
    return std::nullopt;
  }
  return fmt::format("{}: not a setting of this strategy", key);
}

const std::string& Settings::text(std::string_view key) const {
  const auto it = values_.find(key);
  REPLIKV_ASSERT(it != values_.end(), "a strategy reads only the settings it declares");
  return it->second;
}

uint64_t Settings::number(std::string_view key) const {
  const std::string& value = text(key);
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  REPLIKV_ASSERT(ec == std::errc() && end == value.data() + value.size(),
                 "an unsigned setting holds a number (checked when set)");
  return number;
}

bool Settings::flag(std::string_view key) const { return text(key) == "true"; }

}  // namespace replikv::core
