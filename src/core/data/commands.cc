#include "core/data/commands.h"

namespace replikv::core {

const DataCommand* find_data_command(std::string_view lower_name) {
  for (const auto family : {string_commands(), key_commands()}) {
    for (const auto& command : family) {
      if (command.name == lower_name) return &command;
    }
  }
  return nullptr;
}

}  // namespace replikv::core
