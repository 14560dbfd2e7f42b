-- hostile: reads the forbidden global 'rawequal'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'rawequal'
local x = rawequal
