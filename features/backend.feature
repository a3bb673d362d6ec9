Feature: Backend outages
  "Udfald af forbindelsen til backend systemer påvirker ikke driften, udover at levering af
  filer til backend systemer bliver midlertidigt udsat … Der sendes således ikke status_0
  filer, hvis backend system ikke er tilgængeligt eller hvis filen ikke er behandlet
  indenfor 6 timer."

  @GW-BACK-01 @must @needs-control
  Scenario: Uploads are accepted during an outage and answered after it, in order
    Given the backend is down
    And "moces" is logged in
    When "moces" uploads 3 new files to "FTPSGW.Heartbeat"
    Then every upload is accepted
    When 10 minutes pass
    Then no receipt has arrived for them
    When the backend comes back
    Then each of them receives receipts 1 and 2
    And their receipts 1 came in upload order

  @GW-BACK-02 @must @needs-control
  Scenario: Seven hours of outage produce no status_0
    Given the backend is down
    And "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    When 7 hours pass
    Then no receipt 0 came for it
    And no receipt has arrived for it
    When the backend comes back
    Then "moces" receives receipts 1 and 2 for it
