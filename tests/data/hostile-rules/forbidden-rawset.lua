-- hostile: reads the forbidden global 'rawset'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'rawset'
local x = rawset
