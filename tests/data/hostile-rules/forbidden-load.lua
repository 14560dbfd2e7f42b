-- hostile: reads the forbidden global 'load'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'load'
local x = load
