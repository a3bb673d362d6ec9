Feature: File names
  "Indsendte filer skal være unikt navngivet (filnavn som tidligere er indsendt afvises)."
  "Et filnavn brugt på en afvist fil kan derfor ikke genbruges."
  Name rules differ per service: a val_ name holds letters, digits and underscore, at most 78
  characters ("bemærk antal tegn ændret i forhold til indberetning"); SKAT's own heartbeat
  example is ping20201210143002441-hb01.xml; the rule for filings elsewhere is not published.

  @GW-NAME-01 @must
  Scenario: A name is never accepted twice
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    When "moces" uploads a file with the same name to "FTPSGW.Heartbeat"
    Then that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION

  @GW-NAME-01 @must @needs-control
  Scenario: The name of a rejected file is burned too
    Given the backend rejects files in "eKapital.Rente.Udlaan" with "RECORD_LENGTH_INCORRECT"
    And "moces" has uploaded a new file to "eKapital.Rente.Udlaan"
    And "moces" has received receipts 1 and 0 for it
    When "moces" uploads a file with the same name to "eKapital.Rente.Udlaan"
    Then that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION

  @GW-NAME-02 @must
  Scenario: SKAT's own heartbeat name, with its dash, is accepted and answered
    Given "moces" is logged in
    When "moces" uploads a new file named as SKAT's heartbeat example to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And "moces" receives receipts 1 and 2 for it

  @GW-NAME-02 @must
  Scenario Outline: A val_ name breaking the published rule is rejected (<why>)
    Given "moces" is logged in
    When "moces" uploads a file named "<name>" to "FTPSGW.Heartbeat"
    Then that submission is rejected

    Examples:
      | name                 | why                            |
      | val_{79 letters}.txt | a unique part of 79 characters |
      | val_bad-name.txt     | a dash                         |
      | val_æøå.txt          | letters beyond A-Z             |

  @GW-NAME-02 @must
  Scenario: A val_ upload is checked and answered
    Given "moces" is logged in
    When "moces" uploads a new file named with the prefix "val_" to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And "moces" receives receipts 1 and 2 for it

  @GW-NAME-03 @must @assumed
  Scenario Outline: A name breaking the general rule is rejected (<why>)
    Given "moces" is logged in
    When "moces" uploads a file named "<name>" to "eKapital.Rente.Udlaan"
    Then that submission is rejected

    Examples:
      | name             | why                |
      | bad name.txt     | a space            |
      | bad-name.txt     | a dash             |
      | bad.name.txt     | two extensions     |
      | æøå.txt          | letters beyond A-Z |
      | {79 letters}.txt | 79 characters      |

  @GW-NAME-03 @must @assumed
  Scenario: A unique part of 78 characters is accepted
    Given "moces" is logged in
    When "moces" uploads a file named "{78 letters}.txt" to "eKapital.Rente.Udlaan"
    Then the upload is accepted
