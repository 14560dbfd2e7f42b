-- hostile: Lua 5.4.4 luaV_concat use-after-free needs a __concat metamethod
-- expect: load {dir}/hostile.lua:3: error: attempt to concatenate a table value (global 'unknown')
local s = unknown .. 'x'
