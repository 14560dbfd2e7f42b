-- hostile: reads the forbidden global 'rawlen'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'rawlen'
local x = rawlen
