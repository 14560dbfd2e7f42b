-- hostile: writes into the strings' shared metatable
-- expect: load {dir}/hostile.lua:4: error: attempt to index a string value (local 's')
local s = ''
s.upper = function() return 'pwned' end
