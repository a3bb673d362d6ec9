Feature: Folders
  "I vil kun se de foldere, som afspejler de aktuelle tilladelser (grupper/roller), som er
  gældende for OCES-certifikatet." Roles are replicated from the central security system
  every hour; an outage of that link does not stop the gateway.

  @GW-DIR-01 @must
  Scenario: The root shows out and the folders of the certificate's roles
    Given "moces" is logged in
    Then the root folder lists exactly "out" and the service folders of "moces"

  @GW-DIR-01 @must
  Scenario: Every identity's root shows out and the folders of its own roles
    Then the root folder of every identity in the profile lists exactly "out" and its service folders

  @GW-DIR-01 @must
  Scenario Outline: <path> cannot be reached
    Given "moces" is logged in on a raw connection
    Then "<path>" cannot be reached

    Examples:
      | path                            |
      | /eKapital.Rente.Indlaan         |
      | /eKapital.Rente.Pantebreve      |
      | /../../etc/passwd               |
      | /etc                            |
      | /%2e%2e/%2e%2e                  |
      | \..\..                          |
      | /FTPSGW.Heartbeat/../../etc     |

  @GW-DIR-02 @must @needs-control
  Scenario: A role granted in the security system shows after the hourly replication
    Given the security system grants "moces" the role "eKapital.Rente.Prioritetslaan"
    And "moces" is logged in
    Then "moces" does not see the folder "eKapital.Rente.Prioritetslaan"
    When 59 minutes pass
    Then "moces" does not see the folder "eKapital.Rente.Prioritetslaan"
    When 2 minutes pass
    Then "moces" sees the folder "eKapital.Rente.Prioritetslaan"

  @GW-DIR-02 @must @needs-control
  Scenario: While the security system is unreachable the gateway serves the last roles
    Given the security system is unreachable
    And the security system grants "moces" the role "eKapital.Rente.Prioritetslaan"
    When 3 hours pass
    Then "moces" can log in and sees the folders of its last replicated roles
    And "moces" does not see the folder "eKapital.Rente.Prioritetslaan"
    When the security system becomes reachable
    And 1 hour passes
    Then "moces" sees the folder "eKapital.Rente.Prioritetslaan"
