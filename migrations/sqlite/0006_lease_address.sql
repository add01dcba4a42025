-- The client address a lease was given to: an address holds at most a configured
-- number of leases in flight, so contributors made by the dozen from one address
-- cannot steer the crowd's selector with leases they never fulfil.
ALTER TABLE leases ADD COLUMN address TEXT;
CREATE INDEX leases_by_address ON leases (address, state);
