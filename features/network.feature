Feature: Network
  The gateway listens on port 6381 and opens passive data connections on ports 36000-39999
  (the range published in 2021). Active mode is not offered.

  @GW-NET-01 @must
  Scenario: Passive data ports lie in the published range
    Given "moces" is logged in on a raw connection
    When "moces" asks for a passive data connection 3 times
    Then every port offered is in the published passive range

  @GW-NET-01 @must
  Scenario Outline: Active mode is refused (<command>)
    Given "moces" is logged in on a raw connection
    When "moces" sends "<command>"
    Then the command is refused

    Examples:
      | command                |
      | PORT 127,0,0,1,200,10  |
      | EPRT \|1\|127.0.0.1\|51210\| |
