-- hostile: reads the forbidden global 'debug'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'debug'
local x = debug
