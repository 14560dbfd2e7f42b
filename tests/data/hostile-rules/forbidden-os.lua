-- hostile: reads the forbidden global 'os'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'os'
local x = os
