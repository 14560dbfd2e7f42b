-- hostile: reads the forbidden global 'print'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'print'
local x = print
